#include "rest_poll/rest_poll_connector.hpp"

#include <rapidjson/pointer.h>

#include <cstdio>

#include "simpul/cursor.hpp"
#include "simpul/json.hpp"
#include "simpul/url.hpp"

namespace simpul::connectors {
namespace {

// The poll position: "<since ms>:<records at `since` already read>:<n|c>" (n: a new cycle,
// start overlap_s earlier at offset 0; c: continue the cycle at that offset). Format 1 is this
// body behind "v1:"; format 0 (before cursors were numbered) is the same body without it.
constexpr int kCursorFormat = 1;

struct Cursor {
  TimeMs since = 0;
  std::int64_t skip = 0;
  bool fresh = true;
};

Result<Cursor> parse_cursor(const std::string& s) {
  auto text = read_cursor_text(s, kCursorFormat, "rest_poll");
  if (!text) return text.error();
  Cursor c;
  long long since = 0, skip = 0;
  char mode = 'n';
  if (std::sscanf(text->body.c_str(), "%lld:%lld:%c", &since, &skip, &mode) == 3) {
    c.since = since;
    c.skip = skip;
    c.fresh = mode != 'c';
  }
  return c;
}

std::string format_cursor(const Cursor& c) {
  return cursor_text(kCursorFormat, std::to_string(c.since) + ":" + std::to_string(c.skip) + ":" +
                                        (c.fresh ? "n" : "c"));
}

struct Settings {
  std::string url, records, updated_at, format, since_param, limit_param, offset_param;
  int zone_minutes = 0;
  int page_size = 100, interval_ms = 30'000, overlap_ms = 60'000, min_interval_ms = 200,
      timeout_ms = 10'000;
  std::vector<std::pair<std::string, std::string>> headers;
};

class RestPollConnector final : public Connector {
 public:
  RestPollConnector(std::string id, Settings s) : Connector(std::move(id)), s_(std::move(s)) {}

  bool polls() const override { return true; }
  int poll_interval_ms() const override { return s_.interval_ms; }

  void poll(const std::string& cursor_text,
            std::function<void(Result<InboundBatch>)> done) override {
    // Rate limit: space requests at least min_interval_ms apart.
    TimeMs wait = last_request_ + s_.min_interval_ms - ctx_->now();
    if (last_request_ > 0 && wait > 0) {
      ctx_->after(static_cast<int>(wait), [this, cursor_text, done = std::move(done)]() mutable {
        poll(cursor_text, std::move(done));
      });
      return;
    }
    auto parsed = parse_cursor(cursor_text);
    if (!parsed) {  // never poll from the start instead
      set_health(ConnectorHealth::failing, parsed.error().detail);
      done(parsed.error());
      return;
    }
    last_request_ = ctx_->now();
    const Cursor cur = *parsed;
    TimeMs since = cur.fresh ? std::max<TimeMs>(0, cur.since - s_.overlap_ms) : cur.since;
    std::int64_t offset = cur.fresh ? 0 : cur.skip;
    FetchRequest req;
    req.url = s_.url + (s_.url.find('?') == std::string::npos ? "?" : "&") + s_.limit_param + "=" +
              std::to_string(s_.page_size) + "&" + s_.offset_param + "=" + std::to_string(offset);
    if (since > 0) req.url += "&" + s_.since_param + "=" + percent_encode(format_utc(since));
    req.headers = s_.headers;
    req.headers.emplace_back("accept", "application/json");
    req.timeout_ms = s_.timeout_ms;
    ctx_->fetch(std::move(req),
                [this, since, offset, done = std::move(done)](Result<FetchResponse> r) {
                  auto result = read_page(r, since, offset);
                  ctx_->count("pages");
                  if (!result)
                    set_health(ConnectorHealth::failing, result.error().detail);
                  else
                    set_health(ConnectorHealth::ok);
                  done(std::move(result));
                });
  }

  void test(std::function<void(Result<std::string>)> done) override {
    last_request_ = 0;
    poll("", [url = s_.url, done = std::move(done)](Result<InboundBatch> r) {
      if (!r) {
        done(r.error());
        return;
      }
      done(url + " answered with " + std::to_string(r->records.size()) +
           " record(s) on the first page");
    });
  }

 private:
  std::optional<TimeMs> time_of(const rapidjson::Value& rec) const {
    const rapidjson::Value* v = rapidjson::Pointer(s_.updated_at.c_str()).Get(rec);
    if (!v || !v->IsString()) return std::nullopt;
    std::string text(v->GetString(), v->GetStringLength());
    if (s_.format.empty()) {
      auto t = parse_timestamp(text, Zone{0, "UTC"});
      if (!t) return std::nullopt;
      return *t;
    }
    return parse_formatted_time(text, s_.format, s_.zone_minutes);
  }

  Result<InboundBatch> read_page(const Result<FetchResponse>& answer, TimeMs since,
                                 std::int64_t offset) const {
    if (!answer) return make_problem(answer.error().code, "", "connect", answer.error().detail);
    const FetchResponse& r = *answer;
    if (r.status == 401 || r.status == 403)
      return make_problem(errc::unauthenticated, "", "credential",
                          "the app refused the credential (HTTP " + std::to_string(r.status) + ")");
    if (r.status != 200)
      return make_problem(errc::unavailable, "", "http",
                          "the app answered HTTP " + std::to_string(r.status));
    auto parsed = json::parse(r.body);
    if (!parsed)
      return make_problem(errc::invalid_json, "", "json", "the app's answer is not JSON");
    auto doc = std::make_shared<const rapidjson::Document>(std::move(*parsed));
    const rapidjson::Value* list =
        s_.records.empty() ? &*doc : rapidjson::Pointer(s_.records.c_str()).Get(*doc);
    if (!list || !list->IsArray())
      return make_problem(errc::schema_violation, s_.records, "type",
                          "the app's answer has no array of records there");
    InboundBatch batch;
    std::optional<TimeMs> last;
    std::int64_t at_last = 0;
    bool all_at_since = true;
    for (const auto& rec : list->GetArray()) {
      if (!rec.IsObject()) continue;
      auto t = time_of(rec);
      if (!t)
        return make_problem(errc::invalid_value, s_.updated_at, "updated_at",
                            "a record has no readable change time");
      if (last && *t < *last)
        return make_problem(errc::invalid_value, s_.updated_at, "order",
                            "the app's records are not ordered by their change time");
      at_last = last && *t == *last ? at_last + 1 : 1;
      last = *t;
      all_at_since = all_at_since && *t == since;
      batch.records.emplace_back(doc, rec, json::stringify(rec));
    }
    const auto n = static_cast<std::int64_t>(list->Size());
    Cursor next;
    if (!last) {
      next = Cursor{since, 0, true};
    } else {
      next.since = *last;
      // The offset counts records at `last` already read: all of this page and the ones before
      // it when the whole page sits at the cursor's own time.
      next.skip = all_at_since ? offset + n : at_last;
      next.fresh = n < s_.page_size;
    }
    batch.more = n >= s_.page_size;
    batch.cursor = format_cursor(next);
    return batch;
  }

  Settings s_;
  TimeMs last_request_ = 0;
};

}  // namespace

std::unique_ptr<Connector> make_rest_poll(const ConnectorSettings& cs) {
  const auto& v = cs.settings;
  Settings s;
  s.url = json::get_string(v, "url");
  s.records = json::get_string(v, "records");
  s.updated_at = json::get_string(v, "updated_at");
  s.format = json::get_string(v, "updated_at_format");
  if (!valid_time_format(s.format))
    throw ConfigError(cs.file, cs.pointer + "/updated_at_format",
                      "only %Y %m %d %H %M %S are understood");
  auto zone = parse_zone(json::get_string(v, "updated_at_zone", "UTC"));
  if (!zone) throw ConfigError(cs.file, cs.pointer + "/updated_at_zone", "unknown time zone");
  s.zone_minutes = zone->offset_minutes;
  s.since_param = json::get_string(v, "since_param", "updated_since");
  s.limit_param = json::get_string(v, "limit_param", "limit");
  s.offset_param = json::get_string(v, "offset_param", "offset");
  auto num = [&](const char* key, int fallback) {
    return v.HasMember(key) ? v[key].GetInt() : fallback;
  };
  s.page_size = num("page_size", 100);
  s.interval_ms = num("interval_s", 30) * 1000;
  s.overlap_ms = num("overlap_s", 60) * 1000;
  s.min_interval_ms = num("min_interval_ms", 200);
  s.timeout_ms = num("timeout_ms", 10'000);
  std::string token;
  if (v.HasMember("token")) token = cs.secret(json::get_string(v, "token"), cs.pointer + "/token");
  if (v.HasMember("headers"))
    for (const auto& h : v["headers"].GetObject()) {
      std::string value = h.value.GetString();
      for (auto at = value.find("{token}"); at != std::string::npos; at = value.find("{token}"))
        value.replace(at, 7, token);
      s.headers.emplace_back(h.name.GetString(), value);
    }
  return std::make_unique<RestPollConnector>(cs.id, std::move(s));
}

}  // namespace simpul::connectors
