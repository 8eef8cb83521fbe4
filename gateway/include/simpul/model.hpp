#pragma once
// The canonical complaint model (schema/complaint.schema.json) and its events.
//
// A complaint is an event log: its current state is a pure function of its set of events
// (see fold.hpp). The record below is what a `created` event carries; `amended`, `disposed`,
// `linked` and friends change it through the fold. Values are plain data: copyable, no
// behaviour, safe to use from any thread as long as each object has one writer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simpul/time.hpp"

namespace simpul {

enum class ComplaintType { pengaduan, aspirasi, permintaan_informasi };

// anonim: the reporter's identity never leaves the node that received it (the default when a
// source does not say). rahasia: the whole report is confidential. public: nothing hidden.
enum class Privacy { public_, anonim, rahasia };

// `surat`: a letter delivered to the office, entered by an officer (as are walk_in and phone).
enum class Channel { web, app, sms, whatsapp, email, social, walk_in, phone, lapor, import, surat };

// The declared state machine; docs/architecture.md draws it.
enum class Status {
  received,
  pending,  // on hold (tunda): waiting for data, or for the target agency to be connected
  verified,
  disposed,
  in_progress,
  responded,  // a follow-up (tindak lanjut) was posted; auto-closure clock runs
  closed,
  archived,   // terminal
  cancelled,  // terminal
};

enum class EventKind {
  created,
  amended,
  verified,
  held,
  disposed,
  forwarded,
  not_authority,
  progressed,
  responded,
  citizen_replied,
  closed,
  reopened,
  archived,
  cancelled,
  linked,
  sla_breached,
  sla_warning,  // a clock is close to due (ledger/sla.hpp)
  resolved,     // an admin's decision on a conflict (payload: event_id, decision)
};

std::string_view to_string(ComplaintType v) noexcept;
std::string_view to_string(Privacy v) noexcept;
std::string_view to_string(Channel v) noexcept;
std::string_view to_string(Status v) noexcept;
std::string_view to_string(EventKind v) noexcept;
// Exact canonical spellings only; normalization (normalize.hpp) maps the common variants first.
std::optional<ComplaintType> parse_complaint_type(std::string_view s) noexcept;
std::optional<Privacy> parse_privacy(std::string_view s) noexcept;
// How much a flag keeps the reporter at the receiving node: public 0 < anonim 1 < rahasia 2.
// Lowering it (to a smaller rank) is what only that node's admin may do.
int privacy_rank(Privacy p) noexcept;
std::optional<Channel> parse_channel(std::string_view s) noexcept;
std::optional<Status> parse_status(std::string_view s) noexcept;
std::optional<EventKind> parse_event_kind(std::string_view s) noexcept;

// What became of an event another node sent (POST /fed/v1/events answers it per event):
// stored here, already here, the complaint not here yet (send again soon), or refused.
enum class MergeResult { accepted, duplicate, retry, rejected };
std::string_view to_string(MergeResult v) noexcept;
std::optional<MergeResult> parse_merge_result(std::string_view s) noexcept;

// One entry of the crosswalk: the id another system gave this complaint ("apekesah", "8812").
struct Ref {
  std::string system;
  std::string id;
  bool operator==(const Ref&) const = default;
};

struct Attachment {
  std::string uri;
  std::string name;
  std::string mime;
  std::optional<std::int64_t> size;  // bytes
  std::string sha256;                // lowercase hex, or empty when unknown
  bool operator==(const Attachment&) const = default;
};

struct Location {
  std::string text;
  std::optional<double> lat;
  std::optional<double> lon;
  bool operator==(const Location&) const = default;
};

struct Category {
  std::string local;     // the source's own category code
  std::string topic_id;  // the national hub's topic id (a string, as the hub sends it)
  bool operator==(const Category&) const = default;
};

// Personal data. Every field optional. Never logged; never forwarded unless privacy allows.
struct Reporter {
  std::optional<std::string> name;
  std::optional<std::string> phone;  // +62... after normalization
  std::optional<std::string> email;
  std::optional<std::string> nik;  // 16 digits
  bool empty() const { return !name && !phone && !email && !nik; }
  bool operator==(const Reporter&) const = default;
};

struct Complaint {
  std::string id;  // UUIDv7, minted by the first node that saw the complaint
  std::vector<Ref> refs;
  ComplaintType type = ComplaintType::pengaduan;
  std::string title;
  std::string body;
  Category category;
  std::string agency;  // target OPD/instansi code ("" when the source did not say)
  std::string region;  // Kemendagri kode wilayah, e.g. "21.71"
  Location location;
  std::optional<TimeMs> incident_at;
  TimeMs received_at = 0;
  Channel channel = Channel::web;
  Reporter reporter;
  Privacy privacy = Privacy::anonim;
  std::vector<Attachment> attachments;
  bool operator==(const Complaint&) const = default;
};

// Who did something: a role ("citizen", "operator", "agency", "admin", "system", "node"),
// optionally the agency code and a display name (an officer's name, never a reporter's).
struct Actor {
  std::string role = "system";
  std::string agency;
  std::string name;
  bool operator==(const Actor&) const = default;
};

// Where a signed event sits in its origin's signed manifest (core/provenance.hpp).
struct EventProof {
  std::string batch;  // the manifest's id
  int leaf = 0;       // the event's index in it
  bool operator==(const EventProof&) const = default;
};

// One immutable fact about a complaint. `payload` is a JSON object in canonical text form
// (for `created` it is the full Complaint record). `hops` lists the nodes the event has passed
// through, origin first.
struct Event {
  std::string event_id;  // UUIDv7
  std::string complaint_id;
  std::string origin;  // node id that minted the event
  TimeMs at = 0;       // UTC
  Actor actor;
  EventKind kind = EventKind::created;
  std::string payload = "{}";
  std::vector<std::string> hops;
  // Its signature, as it travels between nodes (not part of what the event says; kept beside
  // it, in event_proofs). None at the origin until it is pushed.
  std::optional<EventProof> proof;
  bool operator==(const Event&) const = default;
};

}  // namespace simpul
