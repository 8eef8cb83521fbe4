#pragma once
// Who may see and act on a complaint, from the credential: an admin sees everything; a token
// bound to agencies (`simpul token create --agency ...`) sees the complaints that are or were
// with one of them; a token bound to none sees every complaint that is not rahasia. A rahasia
// complaint is seen only by an admin and by a token of the agency handling it now. The same
// rules answer a read, a list and an action, so a token never acts on what it cannot read.
// Plain data; safe to copy between threads.

#include <set>
#include <string>

#include "simpul/fold.hpp"

namespace simpul {

struct Access {
  bool admin = false;
  std::set<std::string> agencies;  // empty: not bound to agencies

  bool bound() const { return !admin && !agencies.empty(); }
  // The complaint is visible to this credential.
  bool sees(const ComplaintState& s) const;
  // The agency holding the complaint now is one of this credential's: only then may a bound
  // token dispose or forward it.
  bool holds(const ComplaintState& s) const;
  // The agency an action by this credential is recorded for: the one holding the complaint if
  // it is the credential's, else the first of the credential's that had it ("" when unbound).
  std::string acting_agency(const ComplaintState& s) const;
};

}  // namespace simpul
