#include "lapor/simulator.hpp"

#include <sqlite3.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>

#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/schema.hpp"
#include "http/multipart.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "simpul/time.hpp"
#include "store/sqlite/statement.hpp"
#include "store/store.hpp"

namespace simpul::lapor {

namespace asio = boost::asio;

namespace {

std::string read_file(const std::string& path, const std::string& file,
                      const std::string& pointer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(file, pointer, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A time as the hub takes it in a query (naive times are WIB); `bad` when unreadable.
TimeMs lapor_time(const std::string& text, TimeMs bad) {
  auto t = parse_timestamp(text, Zone{});
  return t ? *t : bad;
}

http::Response answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// One-use statements over the store's SQLite layer (store/sqlite/statement.hpp).
using Query = sqlite::Statement;

}  // namespace

SimConfig load_sim_config(const std::string& path) {
  auto base = std::filesystem::path(path).parent_path();
  auto doc = json::parse_relaxed(read_file(path, path, ""));
  if (!doc) throw ConfigError(path, "", doc.error().detail);
  if (auto p = JsonSchema::builtin("schema/lapor_sim.schema.json").validate(*doc))
    throw ConfigError(path, p->pointer, p->detail);
  const auto& d = *doc;
  SimConfig c;
  c.file = path;
  std::string listen = json::get_string(d, "listen");
  auto colon = listen.rfind(':');
  c.host = listen.substr(0, colon);
  c.port = static_cast<std::uint16_t>(std::atoi(listen.c_str() + colon + 1));
  auto resolve = [&](const std::string& p) {
    return p.empty() || p[0] == '/' ? p : (base / p).lexically_normal().string();
  };
  c.store_path = resolve(json::get_string(d, "store"));
  c.admin_token = resolve_secret(json::get_string(d, "admin_token"), path, "/admin_token");
  for (rapidjson::SizeType i = 0; i < d["clients"].Size(); ++i) {
    const auto& cl = d["clients"][i];
    c.clients.emplace_back(json::get_string(cl, "id"),
                           resolve_secret(json::get_string(cl, "secret"), path,
                                          "/clients/" + std::to_string(i) + "/secret"));
  }
  if (d.HasMember("token_ttl_s")) c.token_ttl_s = d["token_ttl_s"].GetInt();
  if (d.HasMember("topics")) {
    auto topics = json::parse(read_file(resolve(d["topics"].GetString()), path, "/topics"));
    if (!topics || !topics->IsArray())
      throw ConfigError(path, "/topics", "the topics file must hold a JSON array");
    c.topics_json = json::stringify(*topics);
  }
  if (d.HasMember("faults")) {
    const auto& f = d["faults"];
    auto num = [&](const char* k, int fallback) {
      return f.HasMember(k) ? f[k].GetInt() : fallback;
    };
    auto real = [&](const char* k) { return f.HasMember(k) ? f[k].GetDouble() : 0.0; };
    c.faults.latency_ms = num("latency_ms", 0);
    c.faults.error_rate = real("error_rate");
    c.faults.rate_limit_every = num("rate_limit_every", 0);
    c.faults.retry_after_s = num("retry_after_s", 1);
    c.faults.expire_tokens_every = num("expire_tokens_every", 0);
    c.faults.hang_after_commit_rate = real("hang_after_commit_rate");
    c.faults.hang_ms = num("hang_ms", 30'000);
    c.faults.seed = static_cast<unsigned>(num("seed", 1));
  }
  return c;
}

struct Simulator::Impl : std::enable_shared_from_this<Simulator::Impl> {
  Impl(asio::io_context& ioc, SimConfig cfg)
      : ioc(ioc), cfg(std::move(cfg)), rng(this->cfg.faults.seed) {}

  asio::io_context& ioc;
  SimConfig cfg;
  sqlite3* db = nullptr;
  Metrics metrics;
  http::Router router{metrics};
  std::unique_ptr<http::Server> server;
  std::mt19937 rng;
  std::int64_t api_calls = 0, authed_calls = 0;
  std::int64_t list_calls = 0;  // pages of /api/lapor/streams served
  mutable std::mutex sinces_mu;
  // `since` of the notifications requests, in order (the latest 100,000: a long-running
  // simulator does not grow without end).
  std::vector<std::int64_t> sinces;

  void exec(const char* sql) {
    try {
      sqlite::exec(db, sql);
    } catch (const StoreError& e) {
      throw std::runtime_error(std::string("lapor-sim: ") + e.what());
    }
  }

  void open() {
    if (sqlite3_open(cfg.store_path.c_str(), &db) != SQLITE_OK)
      throw std::runtime_error("lapor-sim: cannot open " + cfg.store_path);
    exec("PRAGMA journal_mode=WAL");
    exec(
        "CREATE TABLE IF NOT EXISTS reports (nid INTEGER PRIMARY KEY AUTOINCREMENT, client TEXT "
        "NOT NULL, ext_id TEXT, "
        "subject TEXT, content TEXT, topic_nid TEXT, report_type INTEGER, is_anonim INTEGER, "
        "source TEXT, "
        "received TEXT NOT NULL, photos INTEGER NOT NULL, status INTEGER NOT NULL, verified "
        "INTEGER NOT NULL, "
        "agency TEXT, created_ms INTEGER NOT NULL, last_activity_ms INTEGER NOT NULL, closed_ms "
        "INTEGER, "
        "UNIQUE (client, ext_id))");
    exec(
        "CREATE TABLE IF NOT EXISTS claims (id INTEGER PRIMARY KEY, nid INTEGER NOT NULL, "
        "claim_text TEXT NOT NULL, "
        "level_name TEXT, source TEXT, at_ms INTEGER NOT NULL)");
    exec(
        "CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY, nid INTEGER NOT NULL, "
        "grp TEXT NOT NULL, "
        "subject TEXT, message TEXT, at_ms INTEGER NOT NULL)");
    // How many creates reached the store for a report: more than one means a client sent the
    // same report twice (tests check that the dialect never does, even after lost answers).
    try {
      sqlite::exec(db, "SELECT creates FROM reports LIMIT 0");
    } catch (const StoreError&) {
      exec("ALTER TABLE reports ADD COLUMN creates INTEGER NOT NULL DEFAULT 1");
    }
    exec(
        "CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, client TEXT NOT NULL, "
        "expires_ms INTEGER NOT NULL)");
    // Report ids start high, like real tracking ids, so they never look like local row ids.
    exec(
        "INSERT INTO sqlite_sequence(name, seq) SELECT 'reports', 4000000 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'reports')");
  }

  // Sends `r` after the configured latency.
  void reply_later(http::Reply reply, http::Response r, int extra_ms = 0) {
    int ms = cfg.faults.latency_ms + extra_ms;
    if (ms <= 0) {
      reply(std::move(r));
      return;
    }
    auto t = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(ms));
    t->async_wait([t, reply = std::move(reply), r = std::move(r)](
                      const boost::system::error_code&) mutable { reply(std::move(r)); });
  }

  // Faults and the token check shared by every /api call. Returns the client id, or answers.
  std::optional<std::string> admit(const http::Request& req, http::Reply& reply) {
    ++api_calls;
    if (cfg.faults.rate_limit_every > 0 && api_calls % cfg.faults.rate_limit_every == 0) {
      auto r = answer(429, R"({"status":0,"error":"too many requests"})");
      r.headers.push_back({"retry-after", std::to_string(cfg.faults.retry_after_s)});
      reply_later(std::move(reply), std::move(r));
      return std::nullopt;
    }
    if (cfg.faults.error_rate > 0 &&
        std::uniform_real_distribution<double>(0, 1)(rng) < cfg.faults.error_rate) {
      reply_later(std::move(reply), answer(500, R"({"status":0,"error":"internal error"})"));
      return std::nullopt;
    }
    std::string token = req.header("keytoken");
    Query q(db, "SELECT client, expires_ms FROM tokens WHERE token = ?");
    q.bind(1, token);
    bool expired = true;
    std::string client;
    if (!token.empty() && q.step()) {
      client = q.text(0);
      expired = q.i64(1) <= system_now_ms();
    } else {
      reply_later(std::move(reply), answer(401, R"({"status":0,"error":"invalid KEYTOKEN"})"));
      return std::nullopt;
    }
    ++authed_calls;
    if (cfg.faults.expire_tokens_every > 0 && authed_calls % cfg.faults.expire_tokens_every == 0) {
      Query(db, "UPDATE tokens SET expires_ms = 0 WHERE token = ?").bind(1, token).step();
      expired = true;
    }
    if (expired) {
      reply_later(std::move(reply), answer(200, R"({"status":-1,"error":"token expired"})"));
      return std::nullopt;
    }
    return client;
  }

  bool is_admin(const http::Request& req) {
    return crypto::constant_time_equal(req.header("authorization"), "Bearer " + cfg.admin_token);
  }

  void notify(std::int64_t nid, const std::string& group, const std::string& message) {
    Query q(db,
            "INSERT INTO notifications(nid, grp, subject, message, at_ms) SELECT nid, ?, subject, "
            "?, ? FROM reports WHERE nid = ?");
    q.bind(1, group).bind(2, message).bind(3, system_now_ms()).bind(4, nid).step();
  }

  // `with_received`: what the client sent, for the admin's inspection; `with_ext`: the client's
  // own id for it (its list of its reports shows it).
  std::string report_json(std::int64_t nid, bool with_received, bool with_ext = false) {
    Query q(db,
            "SELECT nid, subject, content, topic_nid, report_type, is_anonim, source, status, "
            "verified, agency, "
            "created_ms, last_activity_ms, closed_ms, received, photos, ext_id, creates FROM "
            "reports WHERE nid = ?");
    q.bind(1, nid);
    if (!q.step()) return "";
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    w.Key("nid");
    w.String(std::to_string(q.i64(0)).c_str());
    auto kv = [&](const char* k, const std::string& v) {
      w.Key(k);
      w.String(v.c_str());
    };
    kv("subject", q.text(1));
    kv("content", q.i64(4) == 2 && !with_received ? "(rahasia)" : q.text(2));
    kv("topic_nid", q.text(3));
    w.Key("report_type");
    w.Int64(q.i64(4));
    w.Key("is_anonim");
    w.Int64(q.i64(5));
    kv("source", q.text(6));
    w.Key("status");
    w.Int64(q.i64(7));
    w.Key("verified");
    w.Int64(q.i64(8));
    kv("agency", q.text(9));
    kv("tanggal", format_utc(q.i64(10)));
    kv("last_activity", format_utc(q.i64(11)));
    if (q.i64(12) > 0) kv("closed_at", format_utc(q.i64(12)));
    w.Key("photos");
    w.Int64(q.i64(14));
    if (with_ext && !with_received) kv("ext_id", q.text(15));
    if (with_received) {
      kv("ext_id", q.text(15));
      w.Key("creates");
      w.Int64(q.i64(16));
      w.Key("received");
      w.RawValue(q.text(13).c_str(), q.text(13).size(), rapidjson::kObjectType);
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }

  void routes() {
    router.add("POST", "/api/lapor/token",
               [this](const http::Request& req, const http::Params&, http::Reply reply) {
                 auto doc = json::parse(req.body);
                 std::string id = doc && doc->IsObject() ? json::get_string(*doc, "client_id") : "";
                 std::string secret =
                     doc && doc->IsObject() ? json::get_string(*doc, "client_secret") : "";
                 for (const auto& [cid, csecret] : cfg.clients) {
                   if (cid == id && crypto::constant_time_equal(secret, csecret)) {
                     std::string token = crypto::random_token(24);
                     Query(db, "INSERT INTO tokens(token, client, expires_ms) VALUES (?,?,?)")
                         .bind(1, token)
                         .bind(2, id)
                         .bind(3, system_now_ms() + cfg.token_ttl_s * 1000LL)
                         .step();
                     reply_later(
                         std::move(reply),
                         answer(200, R"({"status":1,"KeyToken":")" + token + R"(","expires_in":)" +
                                         std::to_string(cfg.token_ttl_s) + "}"));
                     return;
                   }
                 }
                 reply_later(std::move(reply),
                             answer(401, R"({"status":0,"error":"unknown client or secret"})"));
               });

    router.add(
        "POST", "/api/lapor/stream",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          auto client = admit(req, reply);
          if (!client) return;
          auto parts = http::parse_multipart(req.header("content-type"), req.body);
          if (!parts) {
            reply_later(std::move(reply),
                        answer(400, R"({"status":1,"error":"expected multipart/form-data"})"));
            return;
          }
          rapidjson::Document received(rapidjson::kObjectType);
          auto& a = received.GetAllocator();
          std::map<std::string, std::string> f;
          int photos = 0;
          for (const auto& p : *parts) {
            if (!p.filename.empty()) {
              ++photos;
              continue;
            }
            f[p.name] = p.data;
            received.AddMember(rapidjson::Value(p.name.c_str(), a),
                               rapidjson::Value(p.data.c_str(), a), a);
          }
          if (f["subject"].empty() || f["content"].size() < 10) {
            reply_later(
                std::move(reply),
                answer(
                    200,
                    R"({"status":1,"error":"subject and content (10+ characters) are required"})"));
            return;
          }
          const TimeMs now = system_now_ms();
          std::int64_t nid = 0;
          if (!f["ext_id"].empty()) {  // a repeat of a create that was stored: the same report
            Query q(db, "SELECT nid FROM reports WHERE client = ? AND ext_id = ?");
            q.bind(1, *client).bind(2, f["ext_id"]);
            if (q.step()) nid = q.i64(0);
            if (nid)
              Query(db, "UPDATE reports SET creates = creates + 1 WHERE nid = ?")
                  .bind(1, nid)
                  .step();
          }
          if (nid == 0) {
            Query q(db,
                    "INSERT INTO reports(client, ext_id, subject, content, topic_nid, report_type, "
                    "is_anonim, source, "
                    "received, photos, status, verified, created_ms, last_activity_ms) VALUES "
                    "(?,NULLIF(?,''),?,?,?,?,?,?,?,?,0,0,?,?)");
            q.bind(1, *client)
                .bind(2, f["ext_id"])
                .bind(3, f["subject"])
                .bind(4, f["content"])
                .bind(5, f["topik_nid"])
                .bind(6, std::atoll(f["report_type"].c_str()))
                .bind(7, std::atoll(f["is_anonim"].c_str()))
                .bind(8, f["source"])
                .bind(9, json::stringify(received))
                .bind(10, photos)
                .bind(11, now)
                .bind(12, now);
            q.step();
            nid = sqlite3_last_insert_rowid(db);
          }
          auto r = answer(200, R"({"status":0,"error":"","nid":)" + std::to_string(nid) + "}");
          if (cfg.faults.hang_after_commit_rate > 0 &&
              std::uniform_real_distribution<double>(0, 1)(rng) <
                  cfg.faults.hang_after_commit_rate) {
            reply_later(std::move(reply), std::move(r),
                        cfg.faults.hang_ms);  // stored; the answer comes too late
            return;
          }
          reply_later(std::move(reply), std::move(r));
        });

    router.add("GET", "/api/lapor/stream",
               [this](const http::Request& req, const http::Params& p, http::Reply reply) {
                 if (!admit(req, reply)) return;
                 std::string rep = report_json(std::atoll(p.get("nid").c_str()), false);
                 reply_later(std::move(reply),
                             rep.empty() ? answer(404, R"({"status":0,"error":"not found"})")
                                         : answer(200, R"({"status":1,"data":)" + rep + "}"));
               });

    router.add("GET", "/api/lapor/lookup",
               [this](const http::Request& req, const http::Params& p, http::Reply reply) {
                 auto client = admit(req, reply);
                 if (!client) return;
                 Query q(db, "SELECT nid FROM reports WHERE client = ? AND ext_id = ?");
                 q.bind(1, *client).bind(2, p.get("ext_id"));
                 reply_later(std::move(reply), q.step()
                                                   ? answer(200, R"({"status":1,"nid":)" +
                                                                     std::to_string(q.i64(0)) + "}")
                                                   : answer(200, R"({"status":0})"));
               });

    router.add(
        "GET", "/api/lapor/claims",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          if (!admit(req, reply)) return;
          Query q(
              db,
              "SELECT claim_text, at_ms, level_name, source FROM claims WHERE nid = ? ORDER BY id");
          q.bind(1, std::atoll(p.get("nid").c_str()));
          rapidjson::StringBuffer buf;
          json::Writer w(buf);
          w.StartArray();
          while (q.step()) {
            w.StartObject();
            w.Key("claim_text");
            w.String(q.text(0).c_str());
            w.Key("tanggal");
            w.String(format_utc(q.i64(1)).c_str());
            w.Key("LevelName");
            w.String(q.text(2).c_str());
            w.Key("source");
            w.String(q.text(3).c_str());
            w.EndObject();
          }
          w.EndArray();
          reply_later(std::move(reply),
                      answer(200, R"({"status":1,"data":)" +
                                      std::string(buf.GetString(), buf.GetSize()) + "}"));
        });

    router.add(
        "POST", "/api/lapor/claim",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          auto client = admit(req, reply);
          if (!client) return;
          auto parts = http::parse_multipart(req.header("content-type"), req.body);
          std::map<std::string, std::string> f;
          if (parts)
            for (const auto& part : *parts)
              if (part.filename.empty()) f[part.name] = part.data;
          std::int64_t nid = std::atoll(f["nid"].c_str());
          if (f["claim_text"].empty() || report_json(nid, false).empty()) {
            reply_later(std::move(reply),
                        answer(400, R"({"status":0,"error":"nid and claim_text are required"})"));
            return;
          }
          Query(db,
                "INSERT INTO claims(nid, claim_text, level_name, source, at_ms) VALUES (?,?,?,?,?)")
              .bind(1, nid)
              .bind(2, f["claim_text"])
              .bind(3, *client)
              .bind(4, f["source"])
              .bind(5, system_now_ms())
              .step();
          Query(db, "UPDATE reports SET last_activity_ms = ? WHERE nid = ?")
              .bind(1, system_now_ms())
              .bind(2, nid)
              .step();
          reply_later(std::move(reply), answer(200, R"({"status":1})"));
        });

    router.add("GET", "/api/lapor/notification",
               [this](const http::Request& req, const http::Params& p, http::Reply reply) {
                 if (!admit(req, reply)) return;
                 Query q(db,
                         "SELECT id, nid, grp, subject, message, at_ms FROM notifications WHERE id "
                         "> ? ORDER BY id LIMIT 200");
                 const std::int64_t since = std::atoll(p.get("since").c_str());
                 {
                   std::lock_guard lock(sinces_mu);
                   if (sinces.size() >= 100'000)
                     sinces.erase(sinces.begin(), sinces.begin() + 50'000);
                   sinces.push_back(since);
                 }
                 q.bind(1, since);
                 rapidjson::StringBuffer buf;
                 json::Writer w(buf);
                 w.StartArray();
                 while (q.step()) {
                   w.StartObject();
                   w.Key("id");
                   w.Int64(q.i64(0));
                   w.Key("stream_nid");
                   w.String(std::to_string(q.i64(1)).c_str());
                   w.Key("group_notification");
                   w.String(q.text(2).c_str());
                   w.Key("subject");
                   w.String(q.text(3).c_str());
                   w.Key("message");
                   w.String(q.text(4).c_str());
                   w.Key("tanggal");
                   w.String(format_utc(q.i64(5)).c_str());
                   w.EndObject();
                 }
                 w.EndArray();
                 reply_later(std::move(reply),
                             answer(200, R"({"status":1,"data":)" +
                                             std::string(buf.GetString(), buf.GetSize()) + "}"));
               });

    // The caller's own reports (those it sent and those entered on the hub for it), by nid after
    // `after`, created between `from` and `to` (hub times), at most `limit` (100) a page; with
    // `changed_since`, those whose last activity is after it (then after `after` at that time),
    // by last activity.
    router.add(
        "GET", "/api/lapor/streams",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          auto client = admit(req, reply);
          if (!client) return;
          const TimeMs from = p.has_query("from") ? lapor_time(p.get("from"), -1) : 0;
          const TimeMs to =
              p.has_query("to") ? lapor_time(p.get("to"), -1) : std::numeric_limits<TimeMs>::max();
          std::int64_t limit = p.has_query("limit") ? std::atoll(p.get("limit").c_str()) : 100;
          if (from < 0 || to < 0 || limit < 1 || limit > 1000) {
            reply_later(std::move(reply),
                        answer(400, R"({"status":0,"error":"from, to: times; limit: 1 to 1000"})"));
            return;
          }
          ++list_calls;
          // changed_since=T: by last activity instead, after (T, after) (activity, nid).
          const bool by_activity = p.has_query("changed_since");
          const TimeMs changed = by_activity ? lapor_time(p.get("changed_since"), 0) : 0;
          Query q(db, by_activity
                          ? "SELECT nid FROM reports WHERE client = ?1 AND (last_activity_ms > ?3 "
                            "OR (last_activity_ms = ?3 AND nid > ?2)) ORDER BY last_activity_ms, "
                            "nid LIMIT ?4"
                          : "SELECT nid FROM reports WHERE client = ?1 AND nid > ?2 AND "
                            "created_ms >= ?3 AND created_ms <= ?5 ORDER BY nid LIMIT ?4");
          q.bind(1, *client)
              .bind(2, std::atoll(p.get("after").c_str()))
              .bind(3, by_activity ? changed : from)
              .bind(4, limit + 1);
          if (!by_activity) q.bind(5, to);
          std::string out;
          std::int64_t n = 0;
          bool more = false;
          while (q.step()) {
            if (++n > limit) {
              more = true;
              break;
            }
            out += (out.empty() ? "" : ",") + report_json(q.i64(0), false, true);
          }
          reply_later(std::move(reply),
                      answer(200, R"({"status":1,"data":[)" + out +
                                      "],\"more\":" + (more ? "true" : "false") + "}"));
        });

    router.add("POST", "/api/services/f01/gettopics",
               [this](const http::Request& req, const http::Params&, http::Reply reply) {
                 if (!admit(req, reply)) return;
                 reply_later(std::move(reply),
                             answer(200, R"({"status":1,"data":)" + cfg.topics_json + "}"));
               });

    // The hub's own staff: verify, hold, dispose to an agency, answer (a follow-up), close.
    router.add(
        "POST", "/admin/stream/{nid}/{action}",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          if (!is_admin(req)) {
            reply(answer(401, R"({"error":"admin token required"})"));
            return;
          }
          std::int64_t nid = std::atoll(p.get("nid").c_str());
          if (report_json(nid, false).empty()) {
            reply(answer(404, R"({"error":"no such report"})"));
            return;
          }
          auto doc = json::parse(req.body.empty() ? "{}" : req.body);
          std::string agency = doc && doc->IsObject() ? json::get_string(*doc, "agency") : "";
          std::string text = doc && doc->IsObject() ? json::get_string(*doc, "text") : "";
          const std::string action = p.get("action");
          const TimeMs now = system_now_ms();
          auto set = [&](int status, int verified) {
            Query(db,
                  "UPDATE reports SET status = ?, verified = ?, last_activity_ms = ? WHERE nid = ?")
                .bind(1, status)
                .bind(2, verified)
                .bind(3, now)
                .bind(4, nid)
                .step();
          };
          if (action == "verify") {
            set(1, 1);
          } else if (action == "hold") {
            set(2, 0);
          } else if (action == "dispose") {
            set(1, 1);
            Query(db, "UPDATE reports SET agency = ? WHERE nid = ?")
                .bind(1, agency)
                .bind(2, nid)
                .step();
            notify(nid, "SUDAHDIDISPOSISIKAN", "Laporan telah didisposisikan ke " + agency);
          } else if (action == "answer") {
            if (text.empty()) {
              reply(answer(400, R"({"error":"text is required"})"));
              return;
            }
            Query(db,
                  "INSERT INTO claims(nid, claim_text, level_name, source, at_ms) VALUES "
                  "(?,?,?,'lapor',?)")
                .bind(1, nid)
                .bind(2, text)
                .bind(3, agency.empty() ? std::string("Admin Nasional") : agency)
                .bind(4, now)
                .step();
            set(5, 1);
            notify(nid, "TINDAKLANJUT", "Tindak lanjut baru");
          } else if (action == "close") {
            set(9, 1);
            Query(db, "UPDATE reports SET closed_ms = ? WHERE nid = ?")
                .bind(1, now)
                .bind(2, nid)
                .step();
          } else {
            reply(answer(404, R"({"error":"actions: verify, hold, dispose, answer, close"})"));
            return;
          }
          reply(answer(200, R"({"ok":true,"report":)" + report_json(nid, false) + "}"));
        });

    // A report entered on the hub itself (its web or app channel) for a client's region:
    // {"client", "subject", "content", "topic", "agency", "report_type"}. No notification: the
    // region learns of it only by reconciling.
    router.add(
        "POST", "/admin/streams",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          if (!is_admin(req)) {
            reply(answer(401, R"({"error":"admin token required"})"));
            return;
          }
          auto doc = json::parse(req.body);
          auto get = [&](const char* k) {
            return doc && doc->IsObject() ? json::get_string(*doc, k) : std::string();
          };
          if (get("client").empty() || get("subject").empty() || get("content").size() < 10) {
            reply(answer(400, R"({"error":"client, subject and content (10+) are required"})"));
            return;
          }
          const TimeMs now = system_now_ms();
          const std::int64_t type = get("report_type") == "2" ? 2 : 1;
          Query q(db,
                  "INSERT INTO reports(client, subject, content, topic_nid, report_type, "
                  "is_anonim, source, received, photos, status, verified, agency, created_ms, "
                  "last_activity_ms) VALUES (?,?,?,?,?,2,'lapor-web','{}',0,?,?,NULLIF(?,''),?,?)");
          const bool disposed = !get("agency").empty();
          q.bind(1, get("client"))
              .bind(2, get("subject"))
              .bind(3, get("content"))
              .bind(4, get("topic").empty() ? std::string("0") : get("topic"))
              .bind(5, type)
              .bind(6, disposed ? 1 : 0)
              .bind(7, disposed ? 1 : 0)
              .bind(8, get("agency"))
              .bind(9, now)
              .bind(10, now);
          q.step();
          const std::int64_t nid = sqlite3_last_insert_rowid(db);
          reply(answer(200, R"({"ok":true,"report":)" + report_json(nid, false) + "}"));
        });

    router.add("GET", "/admin/streams",
               [this](const http::Request& req, const http::Params&, http::Reply reply) {
                 if (!is_admin(req)) {
                   reply(answer(401, R"({"error":"admin token required"})"));
                   return;
                 }
                 Query q(db, "SELECT nid FROM reports ORDER BY nid");
                 std::string out = "[";
                 while (q.step()) out += (out.size() > 1 ? "," : "") + report_json(q.i64(0), true);
                 reply(answer(200, out + "]"));
               });
  }
};

Simulator::Simulator(asio::io_context& ioc, SimConfig cfg)
    : impl_(std::make_shared<Impl>(ioc, std::move(cfg))) {
  impl_->open();
  impl_->routes();
  http::ServerOptions so;
  so.host = impl_->cfg.host;
  so.port = impl_->cfg.port;
  so.max_body_bytes = 16 << 20;  // photos
  http::Router* router = &impl_->router;
  impl_->server =
      std::make_unique<http::Server>(ioc, so, [router](http::Request req, http::Reply reply) {
        router->dispatch(std::move(req), std::move(reply));
      });
}

Simulator::~Simulator() {
  impl_->server.reset();
  sqlite3_close(impl_->db);
}

void Simulator::start() { impl_->server->start(); }
std::uint16_t Simulator::port() const { return impl_->server->port(); }

std::vector<std::int64_t> Simulator::notification_sinces() const {
  std::lock_guard lock(impl_->sinces_mu);
  return impl_->sinces;
}

}  // namespace simpul::lapor
