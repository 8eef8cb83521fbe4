// A webhook delivery to the Ape Kesah connector: three parts ("----" lines between them), the
// timestamp header, the signature header and the body. When the first byte of the body part is
// '!', the signature is replaced by the right one for the rest (so the fuzzer gets past the
// HMAC check to the body and its records, which then go through the mapping and intake);
// otherwise the signature is checked as sent and must be refused unless it is right.

#include <cstdint>
#include <cstdlib>

#include "core/crypto.hpp"
#include "fuzz_support.hpp"
#include "intake/intake.hpp"
#include "simpul/signing.hpp"
#include "webhook/webhook_connector.hpp"

using namespace simpul;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& slot = fuzz::node().slot("apekesah");
  auto parts = fuzz::split_parts(fuzz::as_view(data, size), 3);
  const TimeMs now = 1'780'000'000'000;
  WebhookRequest req;
  req.now = now;
  std::string ts(parts[0]);
  std::string sig(parts[1]);
  std::string_view body = parts[2];
  const bool sign = !body.empty() && body.front() == '!';
  if (sign) {
    body.remove_prefix(1);
    sig = webhook_signature("fuzz-webhook-secret-0123456789", ts, body);
  }
  req.headers = {{"x-simpul-timestamp", ts}, {"x-simpul-signature", sig}};
  req.body = body;
  auto batch = slot.connector->accept_webhook(req);
  if (!batch) return 0;
  // Accepted: the signature was right, and the timestamp inside the window.
  if (!crypto::constant_time_equal(sig,
                                   webhook_signature("fuzz-webhook-secret-0123456789", ts, body)))
    std::abort();
  NormalizeOptions opt;
  opt.default_region = "21.71";
  opt.now = 1'796'000'000'000;  // after every date in the seeds (the signature window uses `now`)
  for (const auto& r : batch->records) (void)prepare_record(*slot.mapping, r, opt);
  return 0;
}
