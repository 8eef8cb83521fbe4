// What a child reads from its parent (dialect `simpul`): the first byte picks the answer, the
// rest is its body. 'p': a POST /fed/v1/events answer for three events sent; 'r': a
// GET /fed/v1/recover page; otherwise a GET /fed/v1/changes page. Any bytes: read or refused, never
// a crash; a page that is read has only events that are valid on their own.

#include <cstdint>
#include <cstdlib>

#include "core/json.hpp"
#include "federation/fed_protocol.hpp"
#include "fuzz_support.hpp"

using namespace simpul;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto body = fuzz::as_view(data + 1, size - 1);
  if (data[0] == 'p') {
    static const std::vector<std::string> sent = {"0192f3a0-0000-7000-8000-000000000001",
                                                  "0192f3a0-0000-7000-8000-000000000002",
                                                  "0192f3a0-0000-7000-8000-000000000003"};
    auto results = fed::read_push_results(body, sent);
    if (results && results->size() != sent.size()) std::abort();
    return 0;
  }
  if (data[0] == 'r') {
    auto page = fed::read_recovery(body);
    if (page && (page->next < 0 || page->acked < 0)) std::abort();
    return 0;
  }
  auto page = fed::read_changes(body);
  if (!page) return 0;
  for (const auto& e : page->events) {
    // An event taken in is written out again exactly as the protocol carries it.
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    json::write_event(w, e, true);
    auto doc = json::parse(std::string_view(buf.GetString(), buf.GetSize()));
    if (!doc || !json::event_from_value(*doc)) std::abort();
  }
  return 0;
}
