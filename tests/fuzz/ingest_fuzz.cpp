// The complaint intake of POST /v1/complaints: parse, derived fields refused, normalization
// (UTF-8, phones, times, spellings), schema validation, the record read. Any bytes: a Problem or
// a complaint, never a crash; an accepted complaint is accepted again when written back out.

#include <cstdint>
#include <cstdlib>

#include "core/json.hpp"
#include "core/normalize.hpp"
#include "fuzz_support.hpp"

using namespace simpul;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  NormalizeOptions opt;
  opt.zone = Zone{};
  opt.default_region = "21.71";
  opt.now = 1'796'000'000'000;  // after every date in the seeds: later ones are refused as future
  auto c = read_complaint(fuzz::as_view(data, size), opt);
  if (!c) return 0;
  // What was accepted, stored and sent on must read back as a complaint too.
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  json::write_complaint(w, *c, true);
  auto again = read_complaint(std::string_view(buf.GetString(), buf.GetSize()), opt);
  if (!again) std::abort();
  return 0;
}
