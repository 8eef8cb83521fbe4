#include "core/audit_chain.hpp"

#include "core/crypto.hpp"

namespace simpul {
namespace {

void field(std::string& out, const std::string& v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += '\n';
}

}  // namespace

std::string audit_hash(const AuditEntry& e) {
  std::string text;
  text.reserve(160 + e.actor.size() + e.action.size() + e.target.size() + e.detail.size());
  field(text, "simpul-audit-1");
  field(text, std::to_string(e.id));
  field(text, std::to_string(e.at));
  field(text, e.actor);
  field(text, e.action);
  field(text, e.target);
  field(text, e.detail);
  field(text, e.prev_hash);
  return crypto::sha256_hex(text);
}

AuditVerdict verify_audit_chain(
    const std::function<std::vector<AuditEntry>(std::int64_t after_id)>& next_page,
    const std::function<void(std::int64_t checked)>& progress) {
  AuditVerdict v;
  auto fail = [&v](const AuditEntry& e, std::string why) {
    v.ok = false;
    v.bad_id = e.id;
    v.reason = std::move(why);
    return v;
  };
  for (;;) {
    auto page = next_page(v.head.id);
    if (page.empty()) return v;
    for (const auto& e : page) {
      const std::string at = "entry " + std::to_string(e.id);
      if (e.hash.empty() || e.prev_hash.empty())
        return fail(e, at + " carries no hash: it was written outside Simpul (inserted by hand)");
      if (e.prev_hash != v.head.hash) {
        if (e.id > v.head.id + 1)
          return fail(e, "entries " + std::to_string(v.head.id + 1) + " to " +
                             std::to_string(e.id - 1) + " were removed (" + at +
                             " links to an entry that is not there)");
        return fail(e, at + " does not link to entry " + std::to_string(v.head.id) +
                           ": an entry was inserted or the log before it rewritten");
      }
      if (audit_hash(e) != e.hash)
        return fail(e, at + " was edited: its content does not match its hash");
      v.head = {e.id, e.hash};
      ++v.checked;
    }
    if (progress) progress(v.checked);
  }
}

}  // namespace simpul
