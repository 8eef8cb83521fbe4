#pragma once
// A stand-in for Batam's Ape Kesah app, for tests and `make demo`: its own HTTP server and
// SQLite database, the REST API Simpul's connectors talk to, and a webhook emitter.
//
//   POST /api/aduan                 a citizen submits an aduan (JSON); answered with its id; the
//                                   app then POSTs it, signed, to the webhook url (retrying)
//   GET  /api/aduan?updated_since=&limit=&offset=
//                                   aduan changed since an ISO 8601 time, ordered by
//                                   (updated time, id): what rest_poll reads
//   GET  /api/aduan/{id}            one aduan as the app shows it to the citizen
//   PUT  /api/aduan/{id}/status     {"status", "catatan"}: what rest_write sends
//   POST /simpul/callback           a signed callback from Simpul's callback connector
//
// Records look like the mapping config/mappings/apekesah.json expects. Thread-safe: the server
// runs on its own thread; the methods below may be called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace simpul::apekesah {

struct StandInOptions {
  std::string db_path;          // its own SQLite file
  std::uint16_t port = 0;       // 0: any free port
  std::string webhook_url;      // http://host:port/v1/ingest/<id>; "" = no webhook emitter
  std::string webhook_secret;   // HMAC key for deliveries
  std::string callback_secret;  // HMAC key Simpul's callback connector signs with
};

class StandIn {
 public:
  explicit StandIn(StandInOptions opt);
  ~StandIn();
  std::uint16_t port() const;
  // Points the webhook emitter at Simpul (when the node's port is known only after this started).
  void set_webhook(const std::string& url, const std::string& secret);
  // A citizen's submission (JSON object: judul, uraian, lokasi, ...): stored as Submitted and
  // queued for the webhook. Returns the new id.
  std::int64_t submit(const std::string& aduan_json);
  // Inserts a record as it stood at `updated_ms` (tests: many records sharing one time).
  std::int64_t insert_at(const std::string& aduan_json, std::int64_t updated_ms);
  // One aduan as the app's API returns it ("" when unknown).
  std::string get(std::int64_t id);
  // Webhook deliveries still waiting for a 2xx.
  std::size_t pending_webhooks() const;
  // Signed callbacks Simpul sent, as received.
  std::vector<std::string> callbacks() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace simpul::apekesah
