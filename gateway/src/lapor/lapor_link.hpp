#pragma once
// The link to the national hub SP4N-LAPOR! (upstream dialect `lapor`, docs/lapor.md). Endpoint
// paths, field names, success flags and the status-code table come from the dialect's section
// of the config (`upstream.lapor`, lapor/lapor_settings.hpp), so an operator can follow the live
// API without a rebuild.
//
//   token: a KEYTOKEN from the token endpoint (client id + the `credential` secret), sent as a
//          header on every call; an answer with the expired status (-1) or a 401 gets a new token
//          and the call is made once more.
//   push:  outbox rows for destination "upstream", oldest first. `created` -> a report create
//          (multipart: subject, content, topic, report_type 2 for rahasia, is_anonim 2 unless
//          the reporter is public, reporter fields only when public, attachments as files); the
//          returned tracking id becomes a `linked` event (ref lapor:<nid>) committed together with
//          the outbox row. A create the hub answered is never sent again; one whose answer was
//          lost (timeout, connection cut, a restart) is looked up by ext_id (the complaint id)
//          before it is sent again. `responded` written here -> a claim (follow-up) on the hub.
//          Every other event stays here (the hub has no place for it).
//   pull:  notifications after a stored cursor; for each report named, its detail and claims are
//          read and turned into verified / held / disposed / progressed / responded / closed
//          events (hub status codes through the config table), merged like events from a parent
//          Simpul node (origin and first hop: upstream.node), so they flow on to children and
//          outbound connectors. The hub does not notify every status change (a close): each
//          round also reads its list of this client's reports changed since the last round
//          (cursor `lapor.activity`) and brings in those it has further on, and a sweep re-reads
//          open linked reports now and then. Events get ids derived from what the hub said, so
//          reading the same thing twice stores it once.
//   topics: the topic tree, fetched at start and daily, cached in the store (cursor
//          `lapor.topics`) for `simpul check`.
// Failures: backoff, Retry-After and the breaker as for any upstream (LinkHealth); the push side
// is the one Relay (relay/relay.hpp) with this link as its sink. Runs on the node's io thread.

#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "federation/upstream_link.hpp"
#include "ledger/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul {

class LaporLink final : public Uplink {
 public:
  LaporLink(boost::asio::io_context& ioc, Supervisor& supervisor, const Config& cfg,
            std::string client_secret, Store& reader, CommitQueue& writer,
            std::function<TimeMs()> clock);
  ~LaporLink() override;
  void start() override;
  void stop() override;
  void wake() override;
  const UplinkStatus& status() const override;

  static constexpr const char* kTopicsCursor = "lapor.topics";
  static constexpr int kTopicsFormat = 1;  // the topic tree as a JSON array, behind "v1:"
  // The hub agency names this node was sent that upstream.lapor.agencies does not map (a JSON
  // array of strings, behind "v1:"), for `simpul check`.
  static constexpr const char* kUnmappedCursor = "lapor.unmapped_agencies";
  // The hub topic ids of reports pulled here (reconciliation) that upstream.lapor.topics does not
  // map to a category (a JSON array of strings, behind "v1:"), for `simpul check`.
  static constexpr const char* kUnmappedTopicsCursor = "lapor.unmapped_topics";

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace simpul
