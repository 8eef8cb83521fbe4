#include "standin.hpp"

#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "simpul/signing.hpp"
#include "simpul/time.hpp"
#include "store/sqlite/statement.hpp"
#include "store/store.hpp"

namespace simpul::apekesah {
namespace {

// Ape Kesah shows Batam time (WIB) as "2026-11-21 08:00:00".
std::string wib(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000 + 7 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

http::Response json_answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

struct StandIn::Impl {
  StandInOptions opt;
  mutable std::mutex mu;
  sqlite3* db = nullptr;
  boost::asio::io_context ioc;
  Metrics metrics;
  http::Router router{metrics};
  std::unique_ptr<http::Server> server;
  std::thread io_thread, emitter;
  std::condition_variable wake;
  std::deque<std::int64_t> outgoing;  // aduan ids waiting for a webhook delivery
  std::vector<std::string> received_callbacks;
  bool stopping = false;
  bool emitting = false;  // a webhook emitter runs (a url was given, now or later)

  void exec(const char* sql) {
    try {
      sqlite::exec(db, sql);
    } catch (const StoreError& e) {
      throw std::runtime_error(std::string("apekesah stand-in: ") + e.what());
    }
  }

  std::int64_t insert(const std::string& aduan_json, std::int64_t now) {
    auto doc = json::parse(aduan_json);
    if (!doc || !doc->IsObject()) throw std::invalid_argument("an aduan is a JSON object");
    std::lock_guard lock(mu);
    sqlite::Statement(db,
                      "INSERT INTO aduan(doc, status, tanggapan, created_ms, updated_ms) VALUES "
                      "(?, 'Submitted', '', ?, ?)")
        .bind(1, aduan_json)
        .bind(2, now)
        .bind(3, now)
        .run();
    return sqlite3_last_insert_rowid(db);
  }

  // The aduan as the API shows it (columns id, doc, status, tanggapan, created_ms, updated_ms).
  // Caller holds mu.
  std::string render(sqlite::Statement& st) {
    auto doc = json::parse(st.text(1));
    auto& a = doc->GetAllocator();
    auto set = [&](const char* k, rapidjson::Value v) {
      doc->RemoveMember(k);
      doc->AddMember(rapidjson::StringRef(k), v, a);
    };
    set("id", rapidjson::Value(static_cast<int64_t>(st.i64(0))));
    set("status", rapidjson::Value(st.text(2).c_str(), a));
    set("tanggapan", rapidjson::Value(st.text(3).c_str(), a));
    set("dibuat", rapidjson::Value(wib(st.i64(4)).c_str(), a));
    set("diperbarui", rapidjson::Value(wib(st.i64(5)).c_str(), a));
    set("updated_at", rapidjson::Value(format_utc(st.i64(5)).c_str(), a));
    return json::stringify(*doc);
  }

  std::string get(std::int64_t id) {
    std::lock_guard lock(mu);
    sqlite::Statement st(
        db, "SELECT id, doc, status, tanggapan, created_ms, updated_ms FROM aduan WHERE id = ?");
    st.bind(1, id);
    return st.step() ? render(st) : "";
  }

  bool set_status(std::int64_t id, const std::string& status, const std::string& note) {
    std::lock_guard lock(mu);
    sqlite::Statement(db,
                      "UPDATE aduan SET status = ?, tanggapan = CASE WHEN ? = '' THEN tanggapan "
                      "ELSE ? END, updated_ms = max(updated_ms + 1, ?) WHERE id = ?")
        .bind(1, status)
        .bind(2, note)
        .bind(3, note)
        .bind(4, system_now_ms())
        .bind(5, id)
        .run();
    return sqlite3_changes(db) > 0;
  }

  void routes() {
    router.add("POST", "/api/aduan",
               [this](const http::Request& req, const http::Params&, http::Reply reply) {
                 try {
                   auto id = insert(req.body, system_now_ms());
                   queue(id);
                   reply(json_answer(201, "{\"id\":" + std::to_string(id) + "}"));
                 } catch (const std::invalid_argument& e) {
                   reply(json_answer(400, "{\"error\":\"" + std::string(e.what()) + "\"}"));
                 }
               });
    router.add("GET", "/api/aduan",
               [this](const http::Request&, const http::Params& p, http::Reply reply) {
                 std::int64_t since = 0;
                 if (p.has_query("updated_since")) {
                   auto t = parse_timestamp(p.get("updated_since"), Zone{0, "UTC"});
                   if (!t) {
                     reply(json_answer(400, "{\"error\":\"updated_since must be ISO 8601\"}"));
                     return;
                   }
                   since = *t;
                 }
                 int limit = p.has_query("limit") ? std::atoi(p.get("limit").c_str()) : 100;
                 int offset = p.has_query("offset") ? std::atoi(p.get("offset").c_str()) : 0;
                 std::lock_guard lock(mu);
                 sqlite::Statement st(db,
                                      "SELECT id, doc, status, tanggapan, created_ms, updated_ms "
                                      "FROM aduan WHERE updated_ms >= ? "
                                      "ORDER BY updated_ms, id LIMIT ? OFFSET ?");
                 st.bind(1, since).bind(2, limit).bind(3, offset);
                 std::string out = "[";
                 while (st.step()) out += (out.size() > 1 ? "," : "") + render(st);
                 reply(json_answer(200, out + "]"));
               });
    router.add("GET", "/api/aduan/{id}",
               [this](const http::Request&, const http::Params& p, http::Reply reply) {
                 std::string a = get(std::atoll(p.get("id").c_str()));
                 reply(a.empty() ? json_answer(404, "{\"error\":\"tidak ditemukan\"}")
                                 : json_answer(200, a));
               });
    router.add("PUT", "/api/aduan/{id}/status",
               [this](const http::Request& req, const http::Params& p, http::Reply reply) {
                 auto doc = json::parse(req.body);
                 if (!doc || !doc->IsObject() || json::get_string(*doc, "status").empty()) {
                   reply(json_answer(400, "{\"error\":\"status wajib diisi\"}"));
                   return;
                 }
                 bool ok =
                     set_status(std::atoll(p.get("id").c_str()), json::get_string(*doc, "status"),
                                json::get_string(*doc, "catatan"));
                 reply(ok ? json_answer(200, "{\"ok\":true}")
                          : json_answer(404, "{\"error\":\"tidak ditemukan\"}"));
               });
    router.add(
        "POST", "/simpul/callback",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          std::string ts = req.header("x-simpul-timestamp");
          if (!crypto::constant_time_equal(req.header("x-simpul-signature"),
                                           webhook_signature(opt.callback_secret, ts, req.body))) {
            reply(json_answer(401, "{\"error\":\"tanda tangan salah\"}"));
            return;
          }
          auto doc = json::parse(req.body);
          if (!doc || !doc->IsObject()) {
            reply(json_answer(400, "{\"error\":\"bukan JSON\"}"));
            return;
          }
          {
            std::lock_guard lock(mu);
            received_callbacks.push_back(req.body);
          }
          if (doc->HasMember("test")) {
            reply(json_answer(200, "{\"ok\":true}"));
            return;
          }
          std::string status = json::get_string(*doc, "app_status");
          bool ok =
              status.empty() || set_status(std::atoll(json::get_string(*doc, "source_id").c_str()),
                                           status, json::get_string(*doc, "text"));
          reply(ok ? json_answer(200, "{\"ok\":true}")
                   : json_answer(404, "{\"error\":\"tidak ditemukan\"}"));
        });
  }

  void queue(std::int64_t id) {
    std::lock_guard lock(mu);
    if (!emitting) return;
    outgoing.push_back(id);
    wake.notify_one();
  }

  // Delivers queued aduan to Simpul's webhook, oldest first, retrying until a 2xx.
  void emit() {
    std::unique_ptr<http::Client> client;
    std::string client_url, path, secret;
    int delay_ms = 100;
    for (;;) {
      std::int64_t id = 0;
      {
        std::unique_lock lock(mu);
        wake.wait(lock,
                  [&] { return stopping || (!outgoing.empty() && !opt.webhook_url.empty()); });
        if (stopping) return;
        id = outgoing.front();
        if (client_url != opt.webhook_url) {
          client_url = opt.webhook_url;
          auto rest = client_url.substr(client_url.find("://") + 3);
          auto slash = rest.find('/');
          auto hostport = rest.substr(0, slash);
          path = rest.substr(slash);
          auto colon = hostport.rfind(':');
          client = std::make_unique<http::Client>(
              hostport.substr(0, colon),
              static_cast<std::uint16_t>(std::atoi(hostport.c_str() + colon + 1)), 5000);
        }
        secret = opt.webhook_secret;
      }
      std::string body = get(id);
      std::string ts = std::to_string(system_now_ms() / 1000);
      bool delivered = false;
      try {
        auto r = client->request("POST", path, body,
                                 {{"content-type", "application/json"},
                                  {"x-simpul-timestamp", ts},
                                  {"x-simpul-signature", webhook_signature(secret, ts, body)}});
        // A refusal of this aduan (400, 413, 422, ...) will not change by retrying: drop it, as the
        // app would log it, so the ones behind it still go out. 401/403 (a wrong secret), 408 and
        // 429 are retried.
        bool refused = r.status >= 400 && r.status < 500 && r.status != 401 && r.status != 403 &&
                       r.status != 408 && r.status != 429;
        delivered = (r.status >= 200 && r.status < 300) || refused;
      } catch (const std::exception&) {
      }
      std::unique_lock lock(mu);
      if (delivered) {
        outgoing.pop_front();
        delay_ms = 100;
      } else {
        wake.wait_for(lock, std::chrono::milliseconds(delay_ms), [&] { return stopping; });
        delay_ms = std::min(delay_ms * 2, 5000);
      }
    }
  }
};

StandIn::StandIn(StandInOptions opt) : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  d.opt = std::move(opt);
  if (sqlite3_open(d.opt.db_path.c_str(), &d.db) != SQLITE_OK)
    throw std::runtime_error("cannot open " + d.opt.db_path);
  d.exec("PRAGMA journal_mode=WAL");
  d.exec(
      "CREATE TABLE IF NOT EXISTS aduan (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, status TEXT "
      "NOT NULL, "
      "tanggapan TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL)");
  d.exec("CREATE INDEX IF NOT EXISTS aduan_updated ON aduan(updated_ms, id)");
  d.routes();
  http::ServerOptions so;
  so.port = d.opt.port;
  http::Router* router = &d.router;
  d.server =
      std::make_unique<http::Server>(d.ioc, so, [router](http::Request req, http::Reply reply) {
        router->dispatch(std::move(req), std::move(reply));
      });
  d.server->start();
  d.io_thread = std::thread([&d] { d.ioc.run(); });
  if (!d.opt.webhook_url.empty()) {
    d.emitting = true;
    d.emitter = std::thread([&d] { d.emit(); });
  }
}

StandIn::~StandIn() {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.mu);
    d.stopping = true;
    d.wake.notify_all();
  }
  if (d.emitter.joinable()) d.emitter.join();
  d.ioc.stop();
  if (d.io_thread.joinable()) d.io_thread.join();
  d.server.reset();
  sqlite3_close(d.db);
}

std::uint16_t StandIn::port() const { return impl_->server->port(); }

void StandIn::set_webhook(const std::string& url, const std::string& secret) {
  auto& d = *impl_;
  std::lock_guard lock(d.mu);
  d.opt.webhook_url = url;
  d.opt.webhook_secret = secret;
  if (!d.emitting) {
    d.emitting = true;
    d.emitter = std::thread([&d] { d.emit(); });
  }
  d.wake.notify_all();
}

std::int64_t StandIn::submit(const std::string& aduan_json) {
  auto id = impl_->insert(aduan_json, system_now_ms());
  impl_->queue(id);
  return id;
}

std::int64_t StandIn::insert_at(const std::string& aduan_json, std::int64_t updated_ms) {
  return impl_->insert(aduan_json, updated_ms);
}

std::string StandIn::get(std::int64_t id) { return impl_->get(id); }

std::size_t StandIn::pending_webhooks() const {
  std::lock_guard lock(impl_->mu);
  return impl_->outgoing.size();
}

std::vector<std::string> StandIn::callbacks() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received_callbacks;
}

}  // namespace simpul::apekesah
