#include "rest_write/rest_write_connector.hpp"

#include <map>

#include "simpul/json.hpp"
#include "simpul/url.hpp"

namespace simpul::connectors {
namespace {

const char* const kPlaceholders[] = {"source_id", "complaint_id", "app_status", "status",
                                     "kind",      "text",         "at",         "token"};

std::string expand(const std::string& tmpl, const std::map<std::string, std::string>& values,
                   bool in_url) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      auto close = tmpl.find('}', i);
      if (close != std::string::npos) {
        auto it = values.find(tmpl.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          out += in_url ? simpul::percent_encode(it->second) : it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += tmpl[i++];
  }
  return out;
}

void expand_value(rapidjson::Value& v, rapidjson::Document::AllocatorType& a,
                  const std::map<std::string, std::string>& values) {
  if (v.IsString()) {
    std::string s = expand(std::string(v.GetString(), v.GetStringLength()), values, false);
    v.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
  } else if (v.IsObject()) {
    for (auto& m : v.GetObject()) expand_value(m.value, a, values);
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) expand_value(e, a, values);
  }
}

// Every {name} in a template must be a known placeholder: a typo would otherwise go out as is.
void check_template(const std::string& tmpl, const ConnectorSettings& s,
                    const std::string& pointer) {
  for (std::size_t i = tmpl.find('{'); i != std::string::npos; i = tmpl.find('{', i + 1)) {
    auto close = tmpl.find('}', i);
    if (close == std::string::npos) continue;
    std::string name = tmpl.substr(i + 1, close - i - 1);
    bool known = false;
    for (const char* p : kPlaceholders) known = known || name == p;
    if (!known && name.find_first_of("\" :,") == std::string::npos)
      throw ConfigError(s.file, pointer, "unknown placeholder {" + name + "}");
  }
}

void check_body(const rapidjson::Value& v, const ConnectorSettings& s, const std::string& pointer) {
  if (v.IsString())
    check_template(v.GetString(), s, pointer);
  else if (v.IsObject())
    for (const auto& m : v.GetObject()) check_body(m.value, s, pointer + "/" + m.name.GetString());
}

class RestWriteConnector final : public Connector {
 public:
  RestWriteConnector(std::string id, std::string method, std::string url, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers, std::string token,
                     int timeout_ms)
      : Connector(std::move(id)),
        method_(std::move(method)),
        url_(std::move(url)),
        body_(std::move(body)),
        headers_(std::move(headers)),
        token_(std::move(token)),
        timeout_ms_(timeout_ms) {}

  bool delivers() const override { return true; }

  void deliver(const OutboundUpdate& u, std::function<void(DeliveryResult)> done) override {
    std::map<std::string, std::string> values = {{"source_id", u.source_id},
                                                 {"complaint_id", u.complaint_id},
                                                 {"app_status", u.app_status},
                                                 {"status", std::string(to_string(u.status))},
                                                 {"kind", std::string(to_string(u.event.kind))},
                                                 {"text", u.text},
                                                 {"at", format_utc(u.event.at)},
                                                 {"token", token_}};
    FetchRequest req;
    req.method = method_;
    req.url = expand(url_, values, true);
    auto body = json::parse(body_);
    expand_value(*body, body->GetAllocator(), values);
    req.body = json::stringify(*body);
    req.headers = {{"content-type", "application/json"}, {"x-simpul-event-id", u.event.event_id}};
    for (const auto& [k, v] : headers_) req.headers.emplace_back(k, expand(v, values, false));
    req.timeout_ms = timeout_ms_;
    ctx_->fetch(std::move(req), [this, done = std::move(done)](Result<FetchResponse> r) {
      auto result = classify_delivery(r);
      note_delivery(result);
      done(result);
    });
  }

 private:
  std::string method_, url_, body_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string token_;
  int timeout_ms_;
};

}  // namespace

std::unique_ptr<Connector> make_rest_write(const ConnectorSettings& s) {
  const auto& v = s.settings;
  std::string url = json::get_string(v, "url");
  check_template(url, s, s.pointer + "/url");
  check_body(v["body"], s, s.pointer + "/body");
  std::vector<std::pair<std::string, std::string>> headers;
  if (v.HasMember("headers"))
    for (const auto& h : v["headers"].GetObject()) {
      std::string value = h.value.GetString();
      check_template(value, s, s.pointer + "/headers/" + h.name.GetString());
      headers.emplace_back(h.name.GetString(), value);
    }
  std::string token;
  if (v.HasMember("token")) token = s.secret(json::get_string(v, "token"), s.pointer + "/token");
  int timeout = v.HasMember("timeout_ms") ? v["timeout_ms"].GetInt() : 10'000;
  return std::make_unique<RestWriteConnector>(s.id, json::get_string(v, "method", "PUT"), url,
                                              json::stringify(v["body"]), std::move(headers), token,
                                              timeout);
}

}  // namespace simpul::connectors
