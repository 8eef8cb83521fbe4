#pragma once
// The parent's copy of each child's audit chain head (core/audit_chain.hpp): a child sends the
// head of its chain now and then (POST /fed/v1/audit/head, docs/federation.md), and the parent
// keeps the last one in its own store. A child whose database was rewritten cannot hide it:
//   - a head below the one kept went backwards (entries were removed, or a backup restored);
//   - the same id with another hash, or a later head whose chain no longer holds the kept entry
//     (the child sends the hash its log has at the kept id, `at`), was rewritten.
// Either is a break: audited on the parent (`fed.audit_chain_broken`), counted per child
// (simpul_child_audit_breaks_total) and shown by `simpul status`; the new head is kept from then
// on, so a later rewrite shows again. Plain functions over the store, run by the writer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/audit_chain.hpp"
#include "store/store.hpp"

namespace simpul {

struct AnchoredHead {
  AuditHead head;
  TimeMs kept_at = 0;
  std::int64_t breaks = 0;   // breaks seen since the parent first kept a head of this child
  TimeMs last_break_at = 0;  // 0: none
};

// What the parent keeps of `child` (nullopt: it never sent a head).
std::optional<AnchoredHead> anchored_head(Cursors& cursors, const std::string& child);

enum class AnchorVerdict {
  kept,          // the first head of this child
  same,          // the head kept, again
  extended,      // a later head whose chain holds the kept entry
  proof_needed,  // a later head, without the hash at the kept id: send it (nothing kept)
  backwards,     // a break: the head went back
  rewritten,     // a break: the kept entry is no longer what it was
};
std::string_view to_string(AnchorVerdict v);

struct AnchorOutcome {
  AnchorVerdict verdict = AnchorVerdict::kept;
  AnchoredHead kept;   // as the parent keeps it now
  std::string reason;  // for a break
};

// In the caller's write transaction.
AnchorOutcome anchor_child_head(Store& store, const std::string& child, const AuditHead& head,
                                const std::optional<AuditHead>& at, TimeMs now);

// The request body, and the parent's reading of it (nullopt: not as the protocol says).
struct AuditHeadRequest {
  AuditHead head;
  std::optional<AuditHead> at;
};
std::string audit_head_request_json(const AuditHeadRequest& r);
std::optional<AuditHeadRequest> read_audit_head_request(std::string_view body);

// The answer body, and the child's reading of it.
std::string audit_head_answer_json(const AnchorOutcome& o);
struct AuditHeadAnswer {
  std::string verdict;
  AuditHead kept;
};
std::optional<AuditHeadAnswer> read_audit_head_answer(std::string_view body);

}  // namespace simpul
