#pragma once
// The audit log as a hash chain. Each entry's hash is SHA-256 over its fields and the hash of
// the entry before it, so editing, removing or inserting a row anywhere breaks the chain at that
// row, and a copy of the newest hash (the head) kept elsewhere - by the parent node, which this
// node sends it to - shows a log that was rewritten from some row onwards and re-hashed.
//
// The hashed form (version 1) is the fields, each as `<byte length>:<bytes>\n`, in this order:
//   "simpul-audit-1", id, at (Unix ms, decimal), actor, action, target, detail (JSON text),
//   prev_hash
// and the entry's hash is the lowercase hex SHA-256 of it. The first entry's prev_hash is 64
// zeros. Plain data and pure functions; thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "simpul/time.hpp"

namespace simpul {

struct AuditEntry {
  std::int64_t id = 0;
  TimeMs at = 0;
  std::string actor, action, target, detail;
  std::string prev_hash, hash;  // "" when the row carries none (written outside Simpul)
};

inline const std::string kAuditGenesis(64, '0');

std::string audit_hash(const AuditEntry& e);

// The newest entry: where the chain ends now (id 0 and the genesis hash for an empty log).
struct AuditHead {
  std::int64_t id = 0;
  std::string hash = kAuditGenesis;
};

// Walks the chain in id order and stops at the first entry that does not verify. `next_page`
// returns the entries after an id (oldest first, empty at the end). `progress` is called now
// and then with the entries checked so far.
struct AuditVerdict {
  bool ok = true;
  std::int64_t checked = 0;
  AuditHead head;           // the last entry that verified
  std::int64_t bad_id = 0;  // the first entry that does not (0: none)
  std::string reason;       // what is wrong with it, for an admin
};
AuditVerdict verify_audit_chain(
    const std::function<std::vector<AuditEntry>(std::int64_t after_id)>& next_page,
    const std::function<void(std::int64_t checked)>& progress = {});

}  // namespace simpul
