#include "node/recompute.hpp"

#include <future>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "simpul/calendar.hpp"
#include "simpul/cursor.hpp"

namespace simpul {
namespace {

constexpr const char* kCursor = "sla.projection";
// Raise when what the fold derives for the projection changes (clocks, agencies): every store
// is refolded once on the next start.
constexpr int kProjectionVersion = 1;

std::string when(const std::optional<TimeMs>& t) { return t ? format_utc(*t) : "none"; }

}  // namespace

std::string projection_fingerprint(const Config& cfg, const FoldContext& fold) {
  const auto& r = fold.sla;
  std::string text =
      "projection " + std::to_string(kProjectionVersion) + "|node " + cfg.node.id + "|sla " +
      std::to_string(r.verify_days) + "," + std::to_string(r.followup_days) + "," +
      std::to_string(r.autoclose_days) + "," + std::to_string(r.warn_days) + "," +
      (r.forward_restarts ? "restart" : "continue") + (cfg.store.full_text ? "|full_text" : "") +
      "|calendar " + (fold.calendar ? fold.calendar->fingerprint() : std::string("weekends"));
  return crypto::sha256_hex(text);
}

RecomputeResult recompute_if_changed(const Config& cfg, Store& reader, CommitQueue& writer,
                                     TimeMs now) {
  RecomputeResult result;
  const FoldContext& fold = writer.ledger().fold_context();
  // Any other text, a newer format included, is "not the one in force": refolding is always
  // safe, since the projection is derived.
  const std::string want = cursor_text(1, projection_fingerprint(cfg, fold));
  const std::string have = reader.cursor(kCursor);
  if (have == want) return result;
  result.ran = true;
  const std::int64_t total = reader.complaint_count();
  const std::string version = fold.calendar ? fold.calendar->version() : std::string("weekends");
  log::info("sla.recompute_started", {{"complaints", total}, {"calendar", version}});

  auto run = [&](CommitQueue::Work work) {
    std::promise<errc> done;
    auto f = done.get_future();
    writer.submit(std::move(work), [&done](errc e) { done.set_value(e); });
    errc e = f.get();
    if (e != errc::ok) throw StoreError(e, "recomputing the SLA clocks failed");
  };
  std::string after;
  std::int64_t next_report = 10'000;
  for (;;) {
    std::vector<std::string> ids = reader.complaint_ids_after(after, 500);
    if (ids.empty()) break;
    after = ids.back();
    std::vector<Ledger::DueChange> changes;
    run([&ids, &changes, now](Ledger& l) {
      changes.clear();
      for (const auto& id : ids)
        for (auto& c : l.reproject(id, now)) changes.push_back(std::move(c));
    });
    for (const auto& c : changes)
      log::info("sla.due_moved", {{"complaint_id", c.complaint_id},
                                  {"clock", c.clock},
                                  {"from", when(c.before)},
                                  {"to", when(c.after)}});
    result.complaints += static_cast<std::int64_t>(ids.size());
    result.moved += static_cast<std::int64_t>(changes.size());
    if (result.complaints >= next_report) {
      log::info("sla.recompute_progress", {{"done", result.complaints}, {"of", total}});
      next_report += 10'000;
    }
  }
  // The version is an operator's text: written as JSON, never pasted into it.
  rapidjson::StringBuffer buf;
  {
    json::Writer w(buf);
    w.StartObject();
    w.Key("calendar");
    w.String(version.c_str(), static_cast<rapidjson::SizeType>(version.size()));
    w.Key("complaints");
    w.Int64(result.complaints);
    w.Key("moved");
    w.Int64(result.moved);
    w.EndObject();
  }
  const std::string detail(buf.GetString(), buf.GetSize());
  run([&](Ledger& l) {
    l.store().set_cursor(kCursor, want, now);
    if (!have.empty()) l.store().audit(now, "node", "sla.recomputed", cfg.node.id, detail);
  });
  log::info("sla.recompute_done",
            {{"complaints", result.complaints}, {"moved", result.moved}, {"calendar", version}});
  return result;
}

}  // namespace simpul
