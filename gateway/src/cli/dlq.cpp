// `simpul dlq list | retry ID | drop ID`: events a destination refused, and records an app sent
// that could not be mapped.

#include <cstdio>

#include "cli/command.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

void add_dlq(CLI::App& app, Commands& out) {
  auto* dlq = app.add_subcommand("dlq", "Dead letters: events a destination refused");
  dlq->require_subcommand(1);

  auto list_config = std::make_shared<std::string>();
  auto* list = dlq->add_subcommand("list", "List dead letters");
  config_option(list, list_config);
  out.push_back({list, [list_config] {
                   Config cfg = load_node_config(*list_config);
                   auto store = open_node_store(cfg, StoreUse::existing);
                   auto rows = store->dead_letters(1000);
                   if (rows.empty()) std::printf("no dead letters\n");
                   for (const auto& d : rows)
                     std::printf("%-6lld %-10s %s complaint %s event %s: %s\n",
                                 static_cast<long long>(d.id), d.destination.c_str(),
                                 format_utc(d.created_at).c_str(), d.complaint_id.c_str(),
                                 d.event_id.c_str(), d.error.c_str());
                   return kOk;
                 }});

  for (const bool retry : {true, false}) {
    auto config = std::make_shared<std::string>();
    auto id = std::make_shared<std::int64_t>(0);
    auto* sub =
        retry ? dlq->add_subcommand("retry", "Put a dead letter back in its outbox")
              : dlq->add_subcommand("drop", "Forget a dead letter (the event stays stored here)");
    config_option(sub, config);
    sub->add_option("id", *id, "Dead letter id (from dlq list)")->required();
    out.push_back({sub, [config, id, retry] {
                     Config cfg = load_node_config(*config);
                     auto store = open_node_store(cfg, StoreUse::existing);
                     auto now = system_now_ms();
                     store->begin();
                     using Retry = Outbox::DeadLetterRetry;
                     const Retry r = retry ? store->retry_dead_letter(*id, now) : Retry::unknown;
                     const bool done = retry ? r == Retry::requeued : store->drop_dead_letter(*id);
                     if (done)
                       store->audit(now, "cli", retry ? "dlq.retry" : "dlq.drop",
                                    std::to_string(*id), "{}");
                     store->commit();
                     const auto n = static_cast<long long>(*id);
                     if (r == Retry::inbound) {
                       std::fprintf(stderr,
                                    "error: dead letter %lld is a record an app sent that could "
                                    "not be mapped; there is "
                                    "nothing to requeue: fix the mapping (the app's next delivery "
                                    "or poll brings it in), "
                                    "then drop it with `simpul dlq drop %lld`\n",
                                    n, n);
                       return kRuntime;
                     }
                     if (!done) {
                       std::fprintf(stderr, "error: no dead letter with id %lld\n", n);
                       return kRuntime;
                     }
                     std::printf("%s dead letter %lld\n", retry ? "requeued" : "dropped", n);
                     return kOk;
                   }});
  }
}

}  // namespace simpul::cli
