#include "federation/audit_anchor.hpp"

#include <cstdio>

#include "core/json.hpp"
#include "simpul/cursor.hpp"

namespace simpul {
namespace {

constexpr int kFormat = 1;

std::string cursor_name(const std::string& child) { return "audit.child." + child; }

bool is_hash(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void put(Cursors& cursors, const std::string& child, const AnchoredHead& a, TimeMs now) {
  cursors.set_cursor(
      cursor_name(child),
      cursor_text(kFormat, std::to_string(a.head.id) + " " + a.head.hash + " " +
                               std::to_string(a.kept_at) + " " + std::to_string(a.breaks) + " " +
                               std::to_string(a.last_break_at)),
      now);
}

void write_head(json::Writer& w, const AuditHead& h) {
  w.StartObject();
  w.Key("id");
  w.Int64(h.id);
  w.Key("hash");
  w.String(h.hash.c_str());
  w.EndObject();
}

std::optional<AuditHead> read_head(const rapidjson::Value& v) {
  if (!v.IsObject() || v.MemberCount() != 2 || !v.HasMember("id") || !v.HasMember("hash"))
    return std::nullopt;
  const auto& id = v["id"];
  const auto& hash = v["hash"];
  if (!id.IsInt64() || id.GetInt64() < 0 || !hash.IsString()) return std::nullopt;
  AuditHead h{id.GetInt64(), hash.GetString()};
  // A child that has no entry at the kept id says so with an empty hash.
  if (!h.hash.empty() && !is_hash(h.hash)) return std::nullopt;
  return h;
}

}  // namespace

std::string_view to_string(AnchorVerdict v) {
  switch (v) {
    case AnchorVerdict::kept:
      return "kept";
    case AnchorVerdict::same:
      return "same";
    case AnchorVerdict::extended:
      return "extended";
    case AnchorVerdict::proof_needed:
      return "proof_needed";
    case AnchorVerdict::backwards:
      return "backwards";
    case AnchorVerdict::rewritten:
      return "rewritten";
  }
  return "?";
}

std::optional<AnchoredHead> anchored_head(Cursors& cursors, const std::string& child) {
  auto text = cursors.cursor(cursor_name(child));
  if (text.empty()) return std::nullopt;
  const std::string body = cursor_body(text, kFormat, cursor_name(child));
  AnchoredHead a;
  long long id = 0, kept_at = 0, breaks = 0, last = 0;
  char hash[65] = {};
  if (std::sscanf(body.c_str(), "%lld %64s %lld %lld %lld", &id, hash, &kept_at, &breaks, &last) !=
      5)
    throw std::runtime_error("cursor " + cursor_name(child) + " is not readable");
  a.head = {id, hash};
  a.kept_at = kept_at;
  a.breaks = breaks;
  a.last_break_at = last;
  return a;
}

AnchorOutcome anchor_child_head(Store& store, const std::string& child, const AuditHead& head,
                                const std::optional<AuditHead>& at, TimeMs now) {
  AnchorOutcome out;
  auto kept = anchored_head(store, child);
  auto keep = [&](AnchorVerdict v) {
    out.verdict = v;
    out.kept.head = head;
    out.kept.kept_at = now;
    put(store, child, out.kept, now);
    return out;
  };
  if (!kept) return keep(AnchorVerdict::kept);
  out.kept = *kept;
  auto broken = [&](AnchorVerdict v, std::string why) {
    out.reason = std::move(why);
    out.kept.breaks += 1;
    out.kept.last_break_at = now;
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    w.Key("verdict");
    w.String(std::string(to_string(v)).c_str());
    w.Key("reason");
    w.String(out.reason.c_str());
    w.Key("kept");
    write_head(w, kept->head);
    w.Key("sent");
    write_head(w, head);
    w.EndObject();
    store.audit(now, "node:" + child, "fed.audit_chain_broken", child,
                std::string(buf.GetString(), buf.GetSize()));
    return keep(v);
  };
  const AuditHead& k = kept->head;
  if (head.id < k.id)
    return broken(AnchorVerdict::backwards,
                  "the audit log's head went back from entry " + std::to_string(k.id) +
                      " to entry " + std::to_string(head.id) +
                      ": entries were removed, or the store was restored from a backup");
  if (head.id == k.id) {
    if (head.hash != k.hash)
      return broken(AnchorVerdict::rewritten, "entry " + std::to_string(k.id) +
                                                  " is not the entry kept: the log was rewritten");
    out.verdict = AnchorVerdict::same;
    return out;
  }
  if (!at || at->id != k.id) {
    out.verdict = AnchorVerdict::proof_needed;
    return out;
  }
  if (at->hash != k.hash)
    return broken(AnchorVerdict::rewritten,
                  "entry " + std::to_string(k.id) +
                      (at->hash.empty() ? " is gone" : " is no longer the entry kept") +
                      ": the log was rewritten from there on");
  return keep(AnchorVerdict::extended);
}

std::string audit_head_request_json(const AuditHeadRequest& r) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("head");
  write_head(w, r.head);
  if (r.at) {
    w.Key("at");
    write_head(w, *r.at);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::optional<AuditHeadRequest> read_audit_head_request(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject() || !doc->HasMember("head")) return std::nullopt;
  if (doc->MemberCount() != (doc->HasMember("at") ? 2u : 1u)) return std::nullopt;
  AuditHeadRequest r;
  auto head = read_head((*doc)["head"]);
  if (!head || !is_hash(head->hash)) return std::nullopt;
  r.head = *head;
  if (doc->HasMember("at")) {
    r.at = read_head((*doc)["at"]);
    if (!r.at) return std::nullopt;
  }
  return r;
}

std::string audit_head_answer_json(const AnchorOutcome& o) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("verdict");
  w.String(std::string(to_string(o.verdict)).c_str());
  w.Key("kept");
  write_head(w, o.kept.head);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::optional<AuditHeadAnswer> read_audit_head_answer(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject() || !doc->HasMember("verdict") || !doc->HasMember("kept"))
    return std::nullopt;
  if (!(*doc)["verdict"].IsString()) return std::nullopt;
  auto kept = read_head((*doc)["kept"]);
  if (!kept) return std::nullopt;
  return AuditHeadAnswer{(*doc)["verdict"].GetString(), *kept};
}

}  // namespace simpul
