// What the lapor dialect reads from SP4N-LAPOR!: three parts ("----" lines between them), a
// report's detail answer, its claims answer and a notifications page, each read with the
// default field names and status table. Then the events they make for a local complaint in each
// status: any bytes give a list of events the state machine accepts in order (besides a hub
// close or answer it refuses, kept as a conflict), never a crash.

#include <cstdint>
#include <cstdlib>

#include "fuzz_support.hpp"
#include "lapor/lapor_protocol.hpp"
#include "simpul/fold.hpp"

using namespace simpul;

namespace {

// Where each event the hub can cause leaves a complaint.
Status after(Status s, EventKind k) {
  switch (k) {
    case EventKind::held:
      return Status::pending;
    case EventKind::verified:
      return Status::verified;
    case EventKind::disposed:
      return Status::disposed;
    case EventKind::progressed:
      return Status::in_progress;
    case EventKind::responded:
      return Status::responded;
    case EventKind::closed:
      return Status::closed;
    default:
      std::abort();  // the hub never causes anything else
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const lapor::Settings L = lapor::read_settings(fuzz::node().cfg);
  auto parts = fuzz::split_parts(fuzz::as_view(data, size), 3);
  const int statuses[] = {200, 200, 401, 429, 500};
  auto detail = lapor::read_reply(L, "detail", statuses[size % 5], parts[0]);
  auto claims = lapor::read_reply(L, "claims", 200, parts[1]);
  auto page = lapor::read_reply(L, "notifications", 200, parts[2]);
  auto notes = lapor::read_notifications(L, page, 5);
  if (notes && notes->last < 5) std::abort();  // the cursor never moves back
  const std::string nid = notes && !notes->nids.empty() ? notes->nids.front() : "77";
  for (Status s :
       {Status::received, Status::pending, Status::verified, Status::disposed, Status::in_progress,
        Status::responded, Status::closed, Status::archived, Status::cancelled}) {
    lapor::LocalState local{"0192f3a0-0000-7000-8000-00000000abcd", s, 1'780'000'000'000};
    auto events = lapor::hub_events(L, "lapor", nid, local, detail, detail.ok ? &claims : nullptr,
                                    1'780'000'100'000);
    // The steps the state machine allows, in order; a refused one only for a hub decision (a
    // close, an answer), which the fold keeps as a conflict without moving the complaint.
    Status at = s;
    for (const auto& e : events) {
      if (transition_error(at, e.kind)) {
        if (e.kind != EventKind::closed && e.kind != EventKind::responded) std::abort();
        continue;
      }
      at = after(at, e.kind);
    }
  }
  return 0;
}
