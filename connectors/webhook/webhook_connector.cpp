#include "webhook/webhook_connector.hpp"

#include <rapidjson/pointer.h>

#include <cstdlib>

#include "simpul/json.hpp"
#include "simpul/signing.hpp"

namespace simpul::connectors {
namespace {

class WebhookConnector final : public Connector {
 public:
  WebhookConnector(std::string id, std::string secret, std::string sig_header,
                   std::string ts_header, int window_s, std::string records)
      : Connector(std::move(id)),
        secret_(std::move(secret)),
        sig_header_(std::move(sig_header)),
        ts_header_(std::move(ts_header)),
        window_s_(window_s),
        records_(std::move(records)) {}

  bool accepts_webhooks() const override { return true; }

  Result<InboundBatch> accept_webhook(const WebhookRequest& req) override {
    std::string ts = req.header(ts_header_);
    std::string sig = req.header(sig_header_);
    if (ts.empty() || sig.empty())
      return make_problem(errc::unauthenticated, "", "signature",
                          "the delivery needs " + sig_header_ + " and " + ts_header_ + " headers");
    char* end = nullptr;
    long long when = std::strtoll(ts.c_str(), &end, 10);
    if (!end || *end || ts.size() > 12)
      return make_problem(errc::unauthenticated, "", "timestamp",
                          ts_header_ + " must be Unix seconds");
    long long now_s = req.now / 1000;
    if (when < now_s - window_s_ || when > now_s + window_s_)
      return make_problem(
          errc::unauthenticated, "", "timestamp",
          "the delivery's timestamp is outside the " + std::to_string(window_s_) + " s window");
    // Verify before reading the body at all.
    if (!signature_matches(sig, secret_, ts, req.body)) {
      set_health(ConnectorHealth::degraded, "a delivery with a bad signature was refused");
      if (ctx_) ctx_->count("bad_signatures");
      return make_problem(errc::unauthenticated, "", "signature",
                          "the signature does not match the body");
    }
    auto parsed = json::parse(req.body);
    if (!parsed) return parsed.error();
    // Parsed once here: the records go on as values inside this one document.
    auto doc = std::make_shared<const rapidjson::Document>(std::move(*parsed));
    const rapidjson::Value* list = nullptr;
    if (!records_.empty()) {
      list = rapidjson::Pointer(records_.c_str()).Get(*doc);
      if (!list || !list->IsArray())
        return make_problem(errc::schema_violation, records_, "type",
                            "the body has no array of records at " + records_);
    } else if (doc->IsObject() && doc->HasMember("records")) {
      list = &(*doc)["records"];
      if (!list->IsArray())
        return make_problem(errc::schema_violation, "/records", "type", "records must be an array");
    }
    InboundBatch batch;
    // A record's raw payload: the body itself when the body is the record, else its text.
    auto take = [&](const rapidjson::Value& v, const std::string& where) -> std::optional<Problem> {
      if (!v.IsObject())
        return make_problem(errc::schema_violation, where, "type",
                            "a record must be a JSON object");
      batch.records.emplace_back(doc, v,
                                 &v == doc.get() ? std::string(req.body) : json::stringify(v));
      return std::nullopt;
    };
    if (list) {
      if (list->Empty())
        return make_problem(errc::schema_violation, records_.empty() ? "/records" : records_,
                            "minItems", "the delivery holds no records");
      for (rapidjson::SizeType i = 0; i < list->Size(); ++i)
        if (auto p = take((*list)[i],
                          (records_.empty() ? "/records" : records_) + "/" + std::to_string(i)))
          return *p;
    } else if (auto p = take(*doc, "")) {
      return *p;
    }
    set_health(ConnectorHealth::ok);
    return batch;
  }

 private:
  std::string secret_, sig_header_, ts_header_;
  int window_s_;
  std::string records_;
};

}  // namespace

std::unique_ptr<Connector> make_webhook(const ConnectorSettings& s) {
  const auto& v = s.settings;
  std::string secret = s.secret(json::get_string(v, "secret"), s.pointer + "/secret");
  if (secret.size() < 16)
    throw ConfigError(s.file, s.pointer + "/secret",
                      "the webhook secret must be at least 16 characters");
  int window = v.HasMember("window_s") ? v["window_s"].GetInt() : 300;
  return std::make_unique<WebhookConnector>(
      s.id, secret, json::get_string(v, "signature_header", "X-Simpul-Signature"),
      json::get_string(v, "timestamp_header", "X-Simpul-Timestamp"), window,
      json::get_string(v, "records"));
}

}  // namespace simpul::connectors
