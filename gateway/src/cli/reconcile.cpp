// `simpul reconcile --with hub|parent [--from DATE] [--to DATE] [--repair] [--csv|--json]`: what
// this region holds and the tier above lacks, what the tier above has for it that it lacks, and
// where the two disagree (reconcile/reconcile.hpp; docs/operations.md, "Reconciliation").
// Exit 0: the two sides agree; 2: drift found (listed); 1: the other side did not answer (what
// was found before is listed).

#include "reconcile/reconcile.hpp"

#include <cstdio>

#include "cli/command.hpp"
#include "intake/registry.hpp"
#include "ledger/ledger.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"
#include "store/store.hpp"

namespace simpul::cli {

namespace {

constexpr int kDrift = 2;

// YYYY-MM-DD (a local day in WIB: its first moment, or with `end` its last), or a timestamp.
std::optional<TimeMs> parse_when(const std::string& text, bool end) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    auto t = parse_timestamp(text + "T00:00:00", Zone{});
    if (!t) return std::nullopt;
    return end ? *t + 86'400'000 - 1 : *t;
  }
  auto t = parse_timestamp(text, Zone{});
  if (!t) return std::nullopt;
  return *t;
}

struct Options {
  std::shared_ptr<std::string> config = std::make_shared<std::string>();
  std::string with, from, to;
  bool repair = false, csv = false, json = false;
};

int run_reconcile(const Options& a) {
  auto with = reconcile::parse_with(a.with);
  if (!with) {
    std::fprintf(stderr, "error: --with is hub or parent\n");
    return kUsage;
  }
  Config cfg = load_node_config(*a.config);
  const TimeMs now = system_now_ms();
  reconcile::Options o;
  o.with = *with;
  o.repair = a.repair;
  o.to = now;
  o.from = now - cfg.reconcile.window_days * 86'400'000LL;
  if (!a.from.empty()) {
    auto t = parse_when(a.from, false);
    if (!t) {
      std::fprintf(stderr, "error: --from: a date (YYYY-MM-DD) or a timestamp\n");
      return kUsage;
    }
    o.from = *t;
  }
  if (!a.to.empty()) {
    auto t = parse_when(a.to, true);
    if (!t) {
      std::fprintf(stderr, "error: --to: a date (YYYY-MM-DD) or a timestamp\n");
      return kUsage;
    }
    o.to = *t;
  }
  if (o.to < o.from) {
    std::fprintf(stderr, "error: --to is before --from\n");
    return kUsage;
  }
  o.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  auto store = open_node_store(cfg, StoreUse::existing);
  // With the connectors' routes, so what a repair brings in goes on to the apps as it would in
  // the node.
  Ledger ledger(*store, ledger_rules(cfg, build_connectors(cfg)));
  // Each repair its own transaction: what was repaired stays when a later one fails.
  reconcile::Write write = [&](std::function<void(Ledger&)> work) {
    store->begin();
    try {
      work(ledger);
      store->commit();
    } catch (...) {
      store->rollback();
      throw;
    }
  };
  auto r = reconcile::run(cfg, *store, write, o, [] { return system_now_ms(); });
  write([&r](Ledger& l) { reconcile::keep_summary(l.store(), r); });
  std::string text = a.json  ? reconcile::as_json(r) + "\n"
                     : a.csv ? reconcile::as_csv(r)
                             : reconcile::as_text(r);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!r.error.empty()) {
    std::fprintf(stderr, "error: the run is incomplete: %s\n", r.error.c_str());
    return kRuntime;
  }
  return r.drift() > 0 ? kDrift : kOk;
}

}  // namespace

void add_reconcile(CLI::App& app, Commands& out) {
  auto a = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "reconcile",
      "Compare this region with the tier above: what either side lacks, where they disagree "
      "(exit 0 agree, 2 drift, 1 incomplete)");
  config_option(sub, a->config);
  sub->add_option("--with", a->with, "hub (dialect lapor) or parent (dialect simpul)")->required();
  sub->add_option("--from", a->from,
                  "First day (YYYY-MM-DD, WIB) or time of the window (default: "
                  "reconcile.window_days ago)");
  sub->add_option("--to", a->to, "Last day or time of the window (default: now)");
  sub->add_flag("--repair", a->repair,
                "Re-queue ours the other side lacks, pull theirs with their history (audited)");
  auto* csv = sub->add_flag("--csv", a->csv, "The findings as CSV");
  sub->add_flag("--json", a->json, "The whole report as JSON")->excludes(csv);
  out.push_back({sub, [a] { return run_reconcile(*a); }});
}

}  // namespace simpul::cli
