#pragma once
// `simpul lapor-sim`: a stand-in for the national hub SP4N-LAPOR!'s integration surface as far
// as it is publicly known (docs/lapor.md, DOMAIN.md "API"), with its own SQLite, for tests and
// demos. It is not the real API: the `lapor` dialect keeps endpoints and field names in config.
//
//   POST /api/lapor/token                 {"client_id","client_secret"} ->
//   {"status":1,"KeyToken","expires_in"} POST /api/lapor/stream                multipart: subject,
//   content, topik_nid, report_type (2 =
//                                         rahasia), is_anonim (2 = yes), source, ext_id, photo0..N
//                                         -> {"status":0,"error":"","nid":N}   (0 = success here)
//   GET  /api/lapor/stream?nid=N          the report: status 0 unverified, 2 pending, 1 verified,
//                                         5/7 in process, 9 done
//   GET  /api/lapor/lookup?ext_id=X       {"status":1,"nid":N} or {"status":0}: resolves an
//                                         unknown create outcome without creating twice
//   GET  /api/lapor/claims?nid=N          follow-ups; POST /api/lapor/claim (multipart) adds one
//   GET  /api/lapor/notification?since=K  SUDAHDIDISPOSISIKAN / TINDAKLANJUT events after id K
//   POST /api/services/f01/gettopics      the topic tree (id, parent, topic_name as strings)
// Every /api call needs the KEYTOKEN header; an expired token gets {"status":-1}. Admin
// (Authorization: Bearer <admin token>): POST
// /admin/stream/{nid}/{verify|hold|dispose|answer|close}, GET /admin/streams (every report with
// what was received, for inspecting privacy on the wire). Faults from config: latency, 5xx rate,
// 429 with Retry-After, expired tokens, and timeouts after commit (the report is stored, the answer
// never comes). Runs on the io_context it is given.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace simpul::lapor {

struct SimFaults {
  int latency_ms = 0;        // added before every answer
  double error_rate = 0;     // share of /api calls answered 500 (nothing stored)
  int rate_limit_every = 0;  // every Nth /api call is answered 429 with Retry-After
  int retry_after_s = 1;
  int expire_tokens_every = 0;        // every Nth authenticated call finds its token expired
  double hang_after_commit_rate = 0;  // share of creates stored but never answered
  int hang_ms = 30'000;
  unsigned seed = 1;
};

struct SimConfig {
  std::string file;  // for errors
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string store_path;
  std::vector<std::pair<std::string, std::string>> clients;  // client_id -> secret
  std::string admin_token;
  int token_ttl_s = 3600;
  std::string topics_json = "[]";  // array of {id, parent, topic_name}
  SimFaults faults;
};

// Reads and checks a simulator config (schema/lapor_sim.schema.json). Throws ConfigError.
SimConfig load_sim_config(const std::string& path);

class Simulator {
 public:
  Simulator(boost::asio::io_context& ioc, SimConfig cfg);
  ~Simulator();
  void start();  // binds; throws std::system_error when the address is taken
  std::uint16_t port() const;
  // The `since` of the notifications requests so far, in order, the latest 100,000 at most
  // (tests: where a link resumes).
  std::vector<std::int64_t> notification_sinces() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace simpul::lapor
