// Convergence of a three-tier federation under a hostile transport, over many seeds.
// Real stores and the real merge code (Ledger::merge_from_child / merge_from_parent / feed /
// fan_out); the transport between them is simulated so that deliveries are duplicated, delayed,
// reordered and their acknowledgements lost, while officers act concurrently at every tier.
// Afterwards every tier holds the same event set and the same folded state for every complaint.

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "core/hop_redact.hpp"
#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/uuid.hpp"
#include "ledger/ledger.hpp"
#include "store/sqlite/sqlite_store.hpp"

using namespace simpul;

namespace {

struct Tier {
  std::string id;
  Directory dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Ledger> ledger;
  std::string feed_cursor;  // this tier's cursor on its parent's feed (as "f<id>")
};

std::int64_t cursor_value(const std::string& c) { return c.empty() ? 0 : std::stoll(c.substr(1)); }

class World {
 public:
  explicit World(std::uint64_t seed) : rng_(seed) {
    top_.id = "nasional";
    mid_.id = "provinsi-kepri";
    leaf_.id = "kota-batam";
    top_.dir = Directory(std::vector<ChildNode>{{"provinsi-kepri", {"21"}, {}}});
    mid_.dir = Directory(std::vector<ChildNode>{{"kota-batam", {"21.71"}, {}}});
    for (Tier* t : {&top_, &mid_, &leaf_})
      t->store = std::make_unique<SqliteStore>(StoreOptions{":memory:", false, 0, true});
    auto rules = [](const Tier& t, std::string upstream) {
      LedgerRules r;
      r.self = t.id;
      r.upstream = std::move(upstream);
      r.children = t.dir;
      return r;
    };
    top_.ledger = std::make_unique<Ledger>(*top_.store, rules(top_, ""));
    mid_.ledger = std::make_unique<Ledger>(*mid_.store, rules(mid_, top_.id));
    leaf_.ledger = std::make_unique<Ledger>(*leaf_.store, rules(leaf_, mid_.id));
  }

  void step() {
    switch (rng_() % 8) {
      case 0:
        ingest(pick_tier());
        break;
      case 1:
      case 2:
        act(pick_tier());
        break;
      case 3:
        push(leaf_, mid_);
        break;
      case 4:
        push(mid_, top_);
        break;
      case 5:
        pull(mid_, top_);
        break;
      case 6:
        pull(leaf_, mid_);
        break;
      default:
        now_ += 1 + static_cast<TimeMs>(rng_() % 5);  // time passes, sometimes not at all
    }
  }

  // Delivers everything still in flight, reliably, until nothing moves.
  void flush() {
    for (int round = 0; round < 60; ++round) {
      bool moved = push(leaf_, mid_, true) | push(mid_, top_, true) | pull(mid_, top_, true) |
                   pull(leaf_, mid_, true);
      if (!moved) return;
    }
    FAIL("the federation did not settle");
  }

  void check_converged() {
    std::set<std::string> ids;
    for (Tier* t : {&top_, &mid_, &leaf_})
      for (const auto& id : complaint_ids(*t)) ids.insert(id);
    REQUIRE_FALSE(ids.empty());
    for (const auto& id : ids) {
      std::vector<std::set<std::string>> sets;
      std::vector<ComplaintState> states;
      for (Tier* t : {&top_, &mid_, &leaf_}) {
        auto events = t->store->events_of(id);
        std::set<std::string> s;
        for (const auto& e : events) s.insert(e.event_id);
        CHECK(s.size() == events.size());  // no duplicate stored
        sets.push_back(s);
        auto st = fold(events, FoldContext{});
        st.record.reporter = {};  // reporters stay where privacy keeps them
        states.push_back(st);
      }
      INFO("complaint " << id);
      CHECK(sets[0] == sets[1]);
      CHECK(sets[1] == sets[2]);
      CHECK(states[0] == states[1]);
      CHECK(states[1] == states[2]);
    }
    // Nothing was dead-lettered: reordering is retried, never refused.
    for (Tier* t : {&top_, &mid_, &leaf_}) CHECK(t->store->dead_letter_count() == 0);
  }

  int conflicts() {
    int n = 0;
    for (const auto& id : complaint_ids(top_))
      n += static_cast<int>(fold(top_.store->events_of(id), {}).conflicts.size());
    return n;
  }

 private:
  Tier& pick_tier() {
    switch (rng_() % 3) {
      case 0:
        return top_;
      case 1:
        return mid_;
      default:
        return leaf_;
    }
  }

  std::vector<std::string> complaint_ids(Tier& t) {
    ListQuery q;
    q.limit = 500;
    return t.store->list(q).ids;
  }

  void ingest(Tier& t) {
    IngestRequest r;
    r.raw_body =
        R"({"type":"pengaduan","title":"Jalan rusak","body":"Isi","channel":"app","region":"21.71",)"
        R"("privacy":"anonim","reporter":{"name":"Siti"}})";
    r.complaint = *read_complaint(r.raw_body, {Zone{}, "21.71", now_});
    r.origin = t.id;
    r.now = now_;
    t.store->begin();
    t.ledger->ingest(r);
    t.store->commit();
  }

  void act(Tier& t) {
    auto ids = complaint_ids(t);
    if (ids.empty()) return;
    const auto& id = ids[rng_() % ids.size()];
    auto st = fold(t.store->events_of(id), {});
    static const EventKind kinds[] = {
        EventKind::verified,   EventKind::held,      EventKind::disposed,
        EventKind::progressed, EventKind::responded, EventKind::citizen_replied,
        EventKind::closed,     EventKind::reopened,  EventKind::amended};
    std::vector<EventKind> ok;
    for (auto k : kinds)
      if (!transition_error(st.status, k)) ok.push_back(k);
    if (ok.empty()) return;
    AppendRequest a;
    a.event.event_id = make_uuid_v7(now_);
    a.event.complaint_id = id;
    a.event.origin = t.id;
    a.event.at = now_;
    a.event.kind = ok[rng_() % ok.size()];
    a.event.hops = {t.id};
    switch (a.event.kind) {
      case EventKind::disposed:
        a.event.payload = R"({"agency":"dinas-pu-batam"})";
        break;
      case EventKind::responded:
      case EventKind::citizen_replied:
        a.event.payload = R"({"text":"isi"})";
        break;
      case EventKind::amended:
        a.event.payload = R"({"fields":{"title":"Intisari )" + std::to_string(rng_() % 9) + "\"}}";
        break;
      default:
        a.event.payload = "{}";
    }
    t.store->begin();
    t.ledger->act(a);
    t.store->commit();
  }

  // Child -> parent: a random part of the child's due outbox, shuffled and partly duplicated;
  // acknowledgements are sometimes lost (the rows stay pending and go again).
  bool push(Tier& child, Tier& parent, bool reliable = false) {
    auto items = child.store->due_outbox("upstream", now_ + 3'600'000, 1000);
    if (items.empty()) return false;
    std::vector<QueuedEvent> batch;
    for (const auto& i : items)
      if (reliable || rng_() % 3) batch.push_back(i);
    if (!reliable) {
      for (int d = static_cast<int>(rng_() % 3); d > 0 && !items.empty(); --d)
        batch.push_back(items[rng_() % items.size()]);
      std::shuffle(batch.begin(), batch.end(), rng_);
    }
    std::vector<Event> events;
    for (auto b : batch) {
      redact_for_hop(b.event, b.privacy);
      events.push_back(b.event);
    }
    parent.store->begin();
    auto outcomes = parent.ledger->merge_from_child(child.id, events, now_);
    parent.store->commit();
    bool moved = false;
    child.store->begin();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      INFO(outcomes[i].reason);
      CHECK(outcomes[i].outcome != MergeResult::rejected);
      bool acked = outcomes[i].outcome == MergeResult::accepted ||
                   outcomes[i].outcome == MergeResult::duplicate;
      moved = moved || outcomes[i].outcome == MergeResult::accepted;
      if (acked && (reliable || rng_() % 4)) child.store->outbox_done(batch[i].id);
    }
    child.store->commit();
    return moved || reliable;
  }

  // Parent -> child: a page of the child's feed, sometimes from an older cursor (redelivery),
  // merged in shuffled order; the new cursor is stored with the merge, as the consumer does.
  bool pull(Tier& child, Tier& parent, bool reliable = false) {
    std::int64_t from = cursor_value(child.feed_cursor);
    if (!reliable && from > 0 && rng_() % 4 == 0)
      from = static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(from));
    auto page =
        parent.store->feed(child.id, from, reliable ? 1000 : 1 + static_cast<int>(rng_() % 20));
    if (page.items.empty()) return false;
    std::vector<Event> events;
    for (auto& item : page.items) {
      redact_for_hop(item.event, item.privacy);
      events.push_back(item.event);
    }
    if (!reliable) std::shuffle(events.begin(), events.end(), rng_);
    std::string next =
        "f" + std::to_string(std::max(page.last_id, cursor_value(child.feed_cursor)));
    child.store->begin();
    int fresh = child.ledger->merge_from_parent(events, next, now_);
    child.store->commit();
    child.feed_cursor = next;
    return fresh > 0;
  }

  std::mt19937_64 rng_;
  TimeMs now_ = 1'763'600'000'000;
  Tier top_, mid_, leaf_;
};

}  // namespace

TEST_CASE("convergence: three tiers agree after duplicated - delayed and reordered deliveries") {
  int seeds = 150, with_conflicts = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    World w(static_cast<std::uint64_t>(seed));
    for (int i = 0; i < 80; ++i) w.step();
    w.flush();
    w.check_converged();
    with_conflicts += w.conflicts() > 0;
  }
  MESSAGE(seeds << " seeds, " << with_conflicts
                << " ended with concurrent-action conflicts (kept, identical everywhere)");
}
