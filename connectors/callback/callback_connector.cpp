#include "callback/callback_connector.hpp"

#include "simpul/json.hpp"
#include "simpul/signing.hpp"

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
    std::string ts = std::to_string(ctx_->now() / 1000);
    req.headers = {{"content-type", "application/json"},
                   {"x-simpul-timestamp", ts},
                   {"x-simpul-signature", webhook_signature(secret_, ts, req.body)},
                   {"x-simpul-event-id", u.event.event_id}};
    req.timeout_ms = timeout_ms_;
    ctx_->fetch(std::move(req), [this, done = std::move(done)](Result<FetchResponse> r) {
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
    std::string ts = std::to_string(ctx_->now() / 1000);
    req.headers = {{"content-type", "application/json"},
                   {"x-simpul-timestamp", ts},
                   {"x-simpul-signature", webhook_signature(secret_, ts, req.body)}};
    req.timeout_ms = timeout_ms_;
    ctx_->fetch(std::move(req), [url = url_, done = std::move(done)](Result<FetchResponse> r) {
      if (!r) {
        done(make_problem(r.error().code, "", "connect", url + ": " + r.error().detail));
        return;
      }
      if (delivery_outcome(r->status) == DeliveryOutcome::auth) {
        done(make_problem(errc::unauthenticated, "", "credential",
                          url + " refused the signature (HTTP " + std::to_string(r->status) + ")"));
        return;
      }
      done(url + " answered HTTP " + std::to_string(r->status) + " to a signed test delivery");
    });
  }

 private:
  std::string url_, secret_;
  int timeout_ms_;
};

}  // namespace

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
