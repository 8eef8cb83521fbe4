#include "callback/callback_connector.hpp"

#include "core/json.hpp"
#include "webhook/webhook_connector.hpp"

namespace simpul::connectors {
namespace {

class CallbackConnector final : public Connector {
 public:
  CallbackConnector(std::string id, std::string url, std::string secret, int timeout_ms)
      : Connector(std::move(id)),
        url_(std::move(url)),
        secret_(std::move(secret)),
        timeout_ms_(timeout_ms) {}

  bool delivers() const override { return true; }

  void deliver(const OutboundUpdate& u, std::function<void(DeliveryResult)> done) override {
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    auto kv = [&](const char* k, const std::string& v) {
      w.Key(k);
      w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    };
    kv("complaint_id", u.complaint_id);
    kv("source_id", u.source_id);
    kv("event_id", u.event.event_id);
    kv("kind", std::string(to_string(u.event.kind)));
    kv("at", format_utc(u.event.at));
    kv("status", std::string(to_string(u.status)));
    kv("app_status", u.app_status);
    kv("text", u.text);
    w.EndObject();
    FetchRequest req;
    req.method = "POST";
    req.url = url_;
    req.body.assign(buf.GetString(), buf.GetSize());
    std::string ts = std::to_string(host_->now() / 1000);
    req.headers = {{"content-type", "application/json"},
                   {"x-simpul-timestamp", ts},
                   {"x-simpul-signature", webhook_signature(secret_, ts, req.body)},
                   {"x-simpul-event-id", u.event.event_id}};
    req.timeout_ms = timeout_ms_;
    host_->fetch(std::move(req), [this, done = std::move(done)](FetchResponse r) {
      auto result = classify_delivery(r);
      note_delivery(result);
      done(result);
    });
  }

  void test(std::function<void(Result<std::string>)> done) override {
    // A signed POST with no update in it: the app should answer 2xx or 4xx, never fail to connect.
    FetchRequest req;
    req.method = "POST";
    req.url = url_;
    req.body = "{\"test\":true}";
    std::string ts = std::to_string(host_->now() / 1000);
    req.headers = {{"content-type", "application/json"},
                   {"x-simpul-timestamp", ts},
                   {"x-simpul-signature", webhook_signature(secret_, ts, req.body)}};
    req.timeout_ms = timeout_ms_;
    host_->fetch(std::move(req), [url = url_, done = std::move(done)](FetchResponse r) {
      if (!r.error.empty()) {
        done(make_problem(errc::unavailable, "", "connect", url + ": " + r.error));
        return;
      }
      if (r.status == 401 || r.status == 403) {
        done(make_problem(errc::unauthenticated, "", "credential",
                          url + " refused the signature (HTTP " + std::to_string(r.status) + ")"));
        return;
      }
      done(url + " answered HTTP " + std::to_string(r.status) + " to a signed test delivery");
    });
  }

 private:
  std::string url_, secret_;
  int timeout_ms_;
};

}  // namespace

DeliveryResult classify_delivery(const FetchResponse& r) {
  if (!r.error.empty()) return {DeliveryOutcome::retry, r.error, -1};
  std::string code = "http " + std::to_string(r.status);
  if (r.status >= 200 && r.status < 300) return {DeliveryOutcome::delivered, "", -1};
  int retry_after = -1;
  if (auto ra = r.header("retry-after"); !ra.empty()) retry_after = std::atoi(ra.c_str());
  if (r.status == 429 || r.status == 503 || r.status >= 500 || r.status == 408)
    return {DeliveryOutcome::retry, code, retry_after};
  if (r.status == 401 || r.status == 403) return {DeliveryOutcome::auth, code, -1};
  return {DeliveryOutcome::rejected, "the app refused the update: " + code, -1};
}

std::unique_ptr<Connector> make_callback(const ConnectorSettings& s) {
  const auto& v = s.settings;
  std::string secret = s.secret(json::get_string(v, "secret"), s.pointer + "/secret");
  if (secret.size() < 16)
    throw ConfigError(s.file, s.pointer + "/secret",
                      "the callback secret must be at least 16 characters");
  int timeout = v.HasMember("timeout_ms") ? v["timeout_ms"].GetInt() : 10'000;
  return std::make_unique<CallbackConnector>(s.id, json::get_string(v, "url"), secret, timeout);
}

}  // namespace simpul::connectors
