// `simpul report agencies --config C --from YYYY-MM-DD --to YYYY-MM-DD [--csv]`: the numbers
// SP4N-LAPOR! evaluates, per agency, read from the node's store (as GET /v1/reports/agencies
// gives them; docs/reports.md).

#include "ledger/report.hpp"

#include <cstdio>

#include "cli/command.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

void add_report(CLI::App& app, Commands& out) {
  auto* report = app.add_subcommand("report", "Reports for the region");
  report->require_subcommand(1);
  struct Agencies {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string from, to;
    bool csv = false;
  };
  auto a = std::make_shared<Agencies>();
  auto* agencies = report->add_subcommand("agencies",
                                          "Per agency: received, followed up, done, in process, "
                                          "working days to follow up, overdue (JSON, or --csv)");
  config_option(agencies, a->config);
  agencies->add_option("--from", a->from, "First local date of the period (YYYY-MM-DD)")
      ->required();
  agencies->add_option("--to", a->to, "Last local date of the period (YYYY-MM-DD)")->required();
  agencies->add_flag("--csv", a->csv, "CSV instead of JSON");
  out.push_back({agencies, [a] {
                   Config cfg = load_node_config(*a->config);
                   FoldContext ctx = fold_context(cfg);
                   auto store = open_node_store(cfg, StoreUse::existing);
                   auto r =
                       agency_report(*store, ctx, agency_ids(cfg).value_or(std::set<std::string>{}),
                                     a->from, a->to, system_now_ms(), cfg.reports.min_n);
                   if (!r) {
                     std::fprintf(stderr, "error: --%s: %s\n", r.error().rule.c_str(),
                                  r.error().detail.c_str());
                     return kUsage;
                   }
                   std::string text = a->csv ? report_csv(*r) : report_json(*r) + "\n";
                   std::fwrite(text.data(), 1, text.size(), stdout);
                   return kOk;
                 }});
}

}  // namespace simpul::cli
