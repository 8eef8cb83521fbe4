// `simpul audit verify | list`: the audit log, a hash chain (core/audit_chain.hpp). `verify`
// walks it and names the first entry that does not verify; `list` shows entries by actor,
// complaint, action and time.

#include <unistd.h>

#include <cstdio>

#include "cli/command.hpp"
#include "core/json.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

namespace {

constexpr int kPage = 5000;

}  // namespace

void add_audit(CLI::App& app, Commands& out) {
  auto* audit = app.add_subcommand("audit", "The audit log: what officers, admins and nodes did");
  audit->require_subcommand(1);

  auto verify_config = std::make_shared<std::string>();
  auto* verify = audit->add_subcommand(
      "verify", "Check the hash chain; name the first entry edited, removed or inserted");
  config_option(verify, verify_config);
  out.push_back({verify, [verify_config] {
                   Config cfg = load_node_config(*verify_config);
                   auto store = open_node_store(cfg, StoreUse::existing);
                   const bool tty = isatty(STDERR_FILENO) == 1;
                   auto v = verify_audit_chain(
                       [&](std::int64_t after) {
                         Store::AuditQuery q;
                         q.after_id = after;
                         q.limit = kPage;
                         return store->audit_entries(q);
                       },
                       [tty](std::int64_t n) {
                         if (tty)
                           std::fprintf(stderr, "\r%lld entries checked\x1b[K", (long long)n);
                       });
                   if (tty) std::fprintf(stderr, "\r\x1b[K");
                   if (!v.ok) {
                     std::printf("audit log BROKEN at entry %lld: %s\n", (long long)v.bad_id,
                                 v.reason.c_str());
                     std::printf("%lld entries before it verify (up to entry %lld)\n",
                                 (long long)v.checked, (long long)v.head.id);
                     return kRuntime;
                   }
                   std::printf("audit log verifies: %lld entries, head %lld %s\n",
                               (long long)v.checked, (long long)v.head.id, v.head.hash.c_str());
                   return kOk;
                 }});

  struct List {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string actor, complaint, action, since, until;
    int limit = 100;
    bool json = false;
  };
  auto l = std::make_shared<List>();
  auto* list = audit->add_subcommand("list", "Entries, oldest first, filtered");
  config_option(list, l->config);
  list->add_option("--actor", l->actor, "Only what this actor did (cli, node, a token's name)");
  list->add_option("--complaint", l->complaint, "Only entries about this complaint (its id)");
  list->add_option("--action", l->action, "Only this action (token.create, fed.rejected, ...)");
  list->add_option("--since", l->since,
                   "From this time on (2026-12-01, 2026-12-01 08:00; the node's zone)");
  list->add_option("--until", l->until, "Before this time");
  list->add_option("--limit", l->limit, "At most this many (default 100)")
      ->check(CLI::Range(1, 1000000));
  list->add_flag("--json", l->json, "One JSON object per line");
  out.push_back({list, [l] {
                   Config cfg = load_node_config(*l->config);
                   Store::AuditQuery q;
                   q.actor = l->actor;
                   q.target = l->complaint;
                   q.action = l->action;
                   for (auto [text, slot, flag] : {std::tuple{&l->since, &q.since, "--since"},
                                                   std::tuple{&l->until, &q.until, "--until"}}) {
                     if (text->empty()) continue;
                     auto t = parse_timestamp(*text, cfg.node.zone);
                     if (!t) {
                       std::fprintf(stderr, "error: %s: %s\n", flag, t.error().detail.c_str());
                       return kUsage;
                     }
                     *slot = *t;
                   }
                   auto store = open_node_store(cfg, StoreUse::existing);
                   int left = l->limit;
                   while (left > 0) {
                     q.limit = std::min(left, kPage);
                     auto rows = store->audit_entries(q);
                     if (rows.empty()) break;
                     for (const auto& e : rows) {
                       if (l->json) {
                         rapidjson::StringBuffer buf;
                         json::Writer w(buf);
                         w.StartObject();
                         w.Key("id");
                         w.Int64(e.id);
                         w.Key("at");
                         w.String(format_utc(e.at).c_str());
                         w.Key("actor");
                         w.String(e.actor.c_str());
                         w.Key("action");
                         w.String(e.action.c_str());
                         w.Key("target");
                         w.String(e.target.c_str());
                         w.Key("detail");
                         auto d = json::parse(e.detail);
                         if (d)
                           d->Accept(w);
                         else
                           w.String(e.detail.c_str());
                         w.EndObject();
                         std::printf("%s\n", buf.GetString());
                       } else {
                         std::printf("%-7lld %s %-16s %-20s %-38s %s\n", (long long)e.id,
                                     format_utc(e.at).c_str(), e.actor.c_str(), e.action.c_str(),
                                     e.target.empty() ? "-" : e.target.c_str(), e.detail.c_str());
                       }
                     }
                     left -= static_cast<int>(rows.size());
                     q.after_id = rows.back().id;
                   }
                   return kOk;
                 }});
}

}  // namespace simpul::cli
