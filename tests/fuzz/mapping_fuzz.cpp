// The mapping engine on arbitrary source documents: the Ape Kesah mapping
// (config/mappings/apekesah.json) applied to any bytes, then the same intake as the API
// (normalize + schema), as a webhook or poll record goes. Also the status advance of a known
// record from every canonical status.

#include <cstdint>

#include "core/json.hpp"
#include "fuzz_support.hpp"
#include "intake/intake.hpp"

using namespace simpul;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& slot = fuzz::node().slot("apekesah");
  const Mapping& m = *slot.mapping;
  NormalizeOptions opt;
  opt.zone = Zone{};
  opt.default_region = "21.71";
  opt.now = 1'796'000'000'000;  // after every date in the seeds: later ones are refused as future
  auto rec = prepare_record(m, fuzz::as_view(data, size), opt);
  auto doc = json::parse(fuzz::as_view(data, size));
  if (doc && doc->IsObject()) {
    (void)m.id_of(*doc);
    auto mapped = m.apply(*doc);
    if (mapped)
      for (Status s : {Status::received, Status::pending, Status::verified, Status::disposed,
                       Status::in_progress, Status::responded, Status::closed, Status::archived,
                       Status::cancelled})
        (void)m.advance(s, mapped->raw_status, *doc);
  }
  return 0;
}
