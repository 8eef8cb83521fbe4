#include "simpul/model.hpp"

#include <array>
#include <utility>

namespace simpul {
namespace {

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E v) {
  for (const auto& [e, name] : table)
    if (e == v) return name;
  return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view s) {
  for (const auto& [e, name] : table)
    if (name == s) return e;
  return std::nullopt;
}

constexpr std::array<std::pair<ComplaintType, std::string_view>, 3> kTypes{{
    {ComplaintType::pengaduan, "pengaduan"},
    {ComplaintType::aspirasi, "aspirasi"},
    {ComplaintType::permintaan_informasi, "permintaan_informasi"},
}};
constexpr std::array<std::pair<Privacy, std::string_view>, 3> kPrivacy{{
    {Privacy::public_, "public"},
    {Privacy::anonim, "anonim"},
    {Privacy::rahasia, "rahasia"},
}};
constexpr std::array<std::pair<Channel, std::string_view>, 11> kChannels{{
    {Channel::web, "web"},
    {Channel::app, "app"},
    {Channel::sms, "sms"},
    {Channel::whatsapp, "whatsapp"},
    {Channel::email, "email"},
    {Channel::social, "social"},
    {Channel::walk_in, "walk_in"},
    {Channel::phone, "phone"},
    {Channel::lapor, "lapor"},
    {Channel::import, "import"},
    {Channel::surat, "surat"},
}};
constexpr std::array<std::pair<Status, std::string_view>, 9> kStatuses{{
    {Status::received, "received"},
    {Status::pending, "pending"},
    {Status::verified, "verified"},
    {Status::disposed, "disposed"},
    {Status::in_progress, "in_progress"},
    {Status::responded, "responded"},
    {Status::closed, "closed"},
    {Status::archived, "archived"},
    {Status::cancelled, "cancelled"},
}};
constexpr std::array<std::pair<EventKind, std::string_view>, 18> kKinds{{
    {EventKind::created, "created"},
    {EventKind::amended, "amended"},
    {EventKind::verified, "verified"},
    {EventKind::held, "held"},
    {EventKind::disposed, "disposed"},
    {EventKind::forwarded, "forwarded"},
    {EventKind::not_authority, "not_authority"},
    {EventKind::progressed, "progressed"},
    {EventKind::responded, "responded"},
    {EventKind::citizen_replied, "citizen_replied"},
    {EventKind::closed, "closed"},
    {EventKind::reopened, "reopened"},
    {EventKind::archived, "archived"},
    {EventKind::cancelled, "cancelled"},
    {EventKind::linked, "linked"},
    {EventKind::sla_breached, "sla_breached"},
    {EventKind::sla_warning, "sla_warning"},
    {EventKind::resolved, "resolved"},
}};

constexpr std::array<std::pair<MergeResult, std::string_view>, 4> kMergeResults{{
    {MergeResult::accepted, "accepted"},
    {MergeResult::duplicate, "duplicate"},
    {MergeResult::retry, "retry"},
    {MergeResult::rejected, "rejected"},
}};

}  // namespace

std::string_view to_string(MergeResult v) noexcept { return name_of(kMergeResults, v); }
std::optional<MergeResult> parse_merge_result(std::string_view s) noexcept {
  return value_of(kMergeResults, s);
}
std::string_view to_string(ComplaintType v) noexcept { return name_of(kTypes, v); }
std::string_view to_string(Privacy v) noexcept { return name_of(kPrivacy, v); }
std::string_view to_string(Channel v) noexcept { return name_of(kChannels, v); }
std::string_view to_string(Status v) noexcept { return name_of(kStatuses, v); }
std::string_view to_string(EventKind v) noexcept { return name_of(kKinds, v); }
std::optional<ComplaintType> parse_complaint_type(std::string_view s) noexcept {
  return value_of(kTypes, s);
}
std::optional<Privacy> parse_privacy(std::string_view s) noexcept { return value_of(kPrivacy, s); }

int privacy_rank(Privacy p) noexcept {
  switch (p) {
    case Privacy::public_:
      return 0;
    case Privacy::anonim:
      return 1;
    case Privacy::rahasia:
      return 2;
  }
  return 2;
}
std::optional<Channel> parse_channel(std::string_view s) noexcept { return value_of(kChannels, s); }
std::optional<Status> parse_status(std::string_view s) noexcept { return value_of(kStatuses, s); }
std::optional<EventKind> parse_event_kind(std::string_view s) noexcept {
  return value_of(kKinds, s);
}

}  // namespace simpul
