// The audit log as a hash chain (core/audit_chain.hpp): the walk names the first entry that
// does not verify.

#include "core/audit_chain.hpp"

#include <doctest/doctest.h>

using namespace simpul;

namespace {

std::vector<AuditEntry> chain(int n) {
  std::vector<AuditEntry> out;
  std::string prev = kAuditGenesis;
  for (int i = 1; i <= n; ++i) {
    AuditEntry e{i, 1000 + i, "cli", "token.create", "t" + std::to_string(i), "{}", prev, ""};
    e.hash = audit_hash(e);
    prev = e.hash;
    out.push_back(e);
  }
  return out;
}

AuditVerdict walk(const std::vector<AuditEntry>& rows) {
  return verify_audit_chain([&](std::int64_t after) {
    std::vector<AuditEntry> page;
    for (const auto& e : rows)
      if (e.id > after && page.size() < 2) page.push_back(e);  // pages of two
    return page;
  });
}

}  // namespace

TEST_CASE("audit chain: an untouched chain verifies to its head") {
  auto rows = chain(5);
  auto v = walk(rows);
  CHECK(v.ok);
  CHECK(v.checked == 5);
  CHECK(v.head.id == 5);
  CHECK(v.head.hash == rows.back().hash);
  CHECK(walk({}).ok);
}

TEST_CASE("audit chain: the hashed form is length-prefixed - moving text between fields shows") {
  AuditEntry a{1, 5, "ab", "c", "", "{}", kAuditGenesis, ""};
  AuditEntry b{1, 5, "a", "bc", "", "{}", kAuditGenesis, ""};
  CHECK(audit_hash(a) != audit_hash(b));
  CHECK(audit_hash(a).size() == 64);
}

TEST_CASE("audit chain: an edited entry is named") {
  auto rows = chain(5);
  rows[2].detail = "{\"scopes\":\"admin\"}";
  auto v = walk(rows);
  CHECK_FALSE(v.ok);
  CHECK(v.bad_id == 3);
  CHECK(v.reason.find("edited") != std::string::npos);
  CHECK(v.head.id == 2);
}

TEST_CASE("audit chain: a removed entry is named by the gap it leaves") {
  auto rows = chain(5);
  rows.erase(rows.begin() + 1);
  auto v = walk(rows);
  CHECK_FALSE(v.ok);
  CHECK(v.bad_id == 3);
  CHECK(v.reason.find("entries 2 to 2 were removed") != std::string::npos);
  auto first = chain(3);
  first.erase(first.begin());
  CHECK(walk(first).reason.find("entries 1 to 1 were removed") != std::string::npos);
}

TEST_CASE("audit chain: an inserted entry is named - without a hash or with a wrong link") {
  auto rows = chain(3);
  rows.push_back({4, 2000, "cli", "token.revoke", "x", "{}", "", ""});
  auto v = walk(rows);
  CHECK(v.bad_id == 4);
  CHECK(v.reason.find("inserted by hand") != std::string::npos);
  rows.back().prev_hash = rows[1].hash;  // linked to an earlier entry
  rows.back().hash = audit_hash(rows.back());
  v = walk(rows);
  CHECK(v.bad_id == 4);
  CHECK(v.reason.find("does not link to entry 3") != std::string::npos);
}
