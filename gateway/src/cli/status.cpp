// `simpul status`: the store and each federation link: queue, lag, last error, breaker, dead
// letters, connector health, loops that failed, children's feeds.

#include <cstdio>

#include "cli/command.hpp"
#include "core/json.hpp"
#include "core/pki.hpp"
#include "federation/audit_anchor.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"
#include "reconcile/reconcile.hpp"
#include "simpul/cursor.hpp"

namespace simpul::cli {

namespace {

int status(const Config& cfg) {
  auto store_ptr = open_node_store(cfg, StoreUse::existing);
  Store& store = *store_ptr;
  auto now = system_now_ms();
  std::printf("node %s (%s, region %s), store %s\n", cfg.node.id.c_str(), cfg.node.tier.c_str(),
              cfg.node.region.c_str(), cfg.store.path.c_str());
  std::printf("  complaints %lld, events %lld, schema version %d\n",
              static_cast<long long>(store.complaint_count()),
              static_cast<long long>(store.event_count()), store.schema_version());
  // This node's certificates, as their files stand (a renewed one is in use after SIGHUP).
  for (auto [which, file] : {std::pair{"listener", cfg.http.tls.cert_file},
                             std::pair{"upstream", cfg.upstream.tls.cert_file}}) {
    if (file.empty()) continue;
    try {
      const auto c = pki::read_certificate(file);
      const TimeMs left = c.not_after - now;
      std::printf(
          "  %s certificate  serial %s until %s (%s)\n", which, c.serial.c_str(),
          format_utc(c.not_after).c_str(),
          left < 0 ? "EXPIRED" : (std::to_string(left / 86'400'000) + " days left").c_str());
    } catch (const std::exception& e) {
      std::printf("  %s certificate  unreadable: %s\n", which, e.what());
    }
  }
  // Reporters' identities at rest: the rows under each key (the current one first), and what
  // the sealer has yet to do.
  {
    auto keys = load_seal_keys(cfg, false);
    const auto st = store.seal_state();
    std::string line;
    for (const auto& [key, n] : st.sealed_by_key)
      line += (line.empty() ? "" : ", ") + std::to_string(n) + " under key " + key +
              (keys && key == keys->current_id() ? " (current)"
               : keys && keys->knows(key)        ? " (previous: being sealed again)"
                                                 : " (NOT CONFIGURED)");
    if (line.empty()) line = "none yet";
    std::printf("  sealed     reporters' identities: %s; raw payloads in the clear: %lld%s\n",
                line.c_str(), static_cast<long long>(st.clear_raw_payloads),
                keys ? "" : " (no store key configured)");
  }
  {
    const AuditHead head = store.audit_head();
    std::printf("  audit log  head entry %lld %s (simpul audit verify checks the chain)\n",
                static_cast<long long>(head.id), head.hash.substr(0, 16).c_str());
  }
  // The last retention pass (ledger/retention.hpp): what it deleted and gave back.
  if (auto last = read_cursor_text(store.cursor("retention.last")).body; !last.empty()) {
    auto doc = json::parse(last);
    if (doc && doc->IsObject()) {
      auto n = [&](const char* k) {
        return doc->HasMember(k) && (*doc)[k].IsInt64() ? (*doc)[k].GetInt64() : 0;
      };
      std::printf(
          "  retention  last pass %s: deleted %lld outbox, %lld raw payloads, %lld idempotency, "
          "%lld feed rows; %lld pages returned (%lld free now)\n",
          format_utc(n("at")).c_str(), static_cast<long long>(n("outbox")),
          static_cast<long long>(n("raw_payloads")), static_cast<long long>(n("idempotency")),
          static_cast<long long>(n("feed")), static_cast<long long>(n("reclaimed_pages")),
          static_cast<long long>(store.free_pages()));
    }
  } else {
    std::printf("  retention  no pass yet (free pages %lld)\n",
                static_cast<long long>(store.free_pages()));
  }
  if (cfg.upstream.enabled) {
    auto b = store.backlog(Destination::upstream().name());
    std::printf("upstream %s at %s:%u\n", cfg.upstream.node.c_str(), cfg.upstream.host.c_str(),
                cfg.upstream.port);
    std::printf("  queue      %lld pending (%lld retrying)\n", static_cast<long long>(b.pending),
                static_cast<long long>(b.retrying));
    std::printf("  lag        %s\n", b.oldest_pending
                                         ? (std::to_string((now - *b.oldest_pending) / 1000) +
                                            " s (oldest pending event)")
                                               .c_str()
                                         : "none");
    std::printf("  last error %s\n", b.last_error.empty() ? "-" : b.last_error.c_str());
    std::printf("  dead       %lld (simpul dlq list)\n", static_cast<long long>(b.dead));
    std::string cursor = read_cursor_text(store.cursor("upstream.changes")).body;
    std::printf("  feed       cursor %s\n", cursor.empty() ? "(start)" : cursor.c_str());
    // The breaker lives in the running node: ask it.
    std::string breaker = "unknown (node not reachable)";
    std::string metrics = ask_own_node(cfg, "/metrics");
    if (metrics.find("simpul_upstream_breaker_open 1") != std::string::npos)
      breaker = "OPEN (the link is paused after repeated failures)";
    else if (metrics.find("simpul_upstream_breaker_open 0") != std::string::npos)
      breaker = "closed";
    std::printf("  breaker    %s\n", breaker.c_str());
    // The last reconciliation (simpul reconcile, or the node's own runs).
    if (auto with = reconcile::configured(cfg)) {
      const std::string side(reconcile::to_string(*with));
      if (auto r = reconcile::last_summary(store, *with)) {
        std::string drift = r->drift() == 0
                                ? std::string("the two sides agree")
                                : std::to_string(r->missing_there) + " missing there, " +
                                      std::to_string(r->missing_here) + " missing here, " +
                                      std::to_string(r->mismatched) + " mismatched (since " +
                                      format_utc(r->drift_since) + ")";
        if (!r->error.empty()) drift += "; INCOMPLETE: " + r->error;
        std::printf("  reconcile  %s at %s: %s; %lld on the way up\n", side.c_str(),
                    format_utc(r->at).c_str(), drift.c_str(), static_cast<long long>(r->in_flight));
        if (r->drift() > 0 && now - r->drift_since > cfg.reconcile.warn_after_s * 1000LL)
          std::printf("  WARNING    drift for %lld min (simpul reconcile --with %s)\n",
                      static_cast<long long>((now - r->drift_since) / 60'000), side.c_str());
      } else {
        std::printf("  reconcile  no run yet (simpul reconcile --with %s)\n", side.c_str());
      }
    }
  }
  if (!cfg.connectors.empty()) {
    // Health lives in the running node: ask its /readyz; the rest is in the database.
    std::string ready = ask_own_node(cfg, "/readyz");
    auto checks = json::parse(ready.empty() ? "{}" : ready);
    std::printf("connectors\n");
    for (const auto& ci : cfg.connectors) {
      std::string health = "unknown (node not reachable)";
      if (checks && checks->IsObject() && checks->HasMember("checks")) {
        auto it = (*checks)["checks"].FindMember(("connector:" + ci.id).c_str());
        if (it != (*checks)["checks"].MemberEnd())
          health = it->value.IsString() ? it->value.GetString()
                                        : json::get_string(it->value, "state") + " (" +
                                              json::get_string(it->value, "last_error") + ")";
      }
      std::printf("  %-20s %-12s health %s\n", ci.id.c_str(), ci.type.c_str(), health.c_str());
      auto b = store.backlog(Destination::connector(ci.id).name());
      if (b.pending > 0 || b.dead > 0 || !b.last_error.empty())
        std::printf("  %-20s outbox %lld pending (%lld retrying), dead %lld, last error %s\n", "",
                    static_cast<long long>(b.pending), static_cast<long long>(b.retrying),
                    static_cast<long long>(b.dead),
                    b.last_error.empty() ? "-" : b.last_error.c_str());
      std::string cursor = read_cursor_text(store.cursor("connector." + ci.id + ".cursor")).body;
      if (!cursor.empty()) std::printf("  %-20s poll cursor %s\n", "", cursor.c_str());
    }
  }
  {
    // A node loop that failed (and is restarting) or stopped is a check in /readyz.
    std::string ready = ask_own_node(cfg, "/readyz");
    auto checks = json::parse(ready.empty() ? "{}" : ready);
    if (checks && checks->IsObject() && checks->HasMember("checks") &&
        (*checks)["checks"].IsObject())
      for (const auto& m : (*checks)["checks"].GetObject()) {
        std::string name = m.name.GetString();
        if (name.rfind("loop:", 0) != 0) continue;
        std::printf("loop %s: %s (%s)\n", name.c_str() + 5,
                    json::get_string(m.value, "state").c_str(),
                    json::get_string(m.value, "last_error").c_str());
      }
  }
  if (!cfg.children.empty()) {
    std::printf("children (their changes feeds)\n");
    for (const auto& child : cfg.children) {
      auto b = store.feed_backlog(child.id);
      std::string lag =
          b.oldest_unfetched ? std::to_string((now - *b.oldest_unfetched) / 1000) + " s" : "none";
      std::string acked = b.acked_at
                              ? "f" + std::to_string(b.acked) + " at " + format_utc(*b.acked_at)
                              : "nothing yet";
      std::printf("  %-20s unfetched %lld, lag %s, acknowledged %s\n", child.id.c_str(),
                  static_cast<long long>(b.unfetched), lag.c_str(), acked.c_str());
      if (auto a = anchored_head(store, child.id)) {
        std::printf("  %-20s audit head %lld kept at %s, breaks %lld%s\n", "",
                    static_cast<long long>(a->head.id), format_utc(a->kept_at).c_str(),
                    static_cast<long long>(a->breaks),
                    a->last_break_at ? (" (last at " + format_utc(a->last_break_at) +
                                        ": simpul audit list "
                                        "--action "
                                        "fed.audit_chain_broken)")
                                           .c_str()
                                     : "");
      }
    }
  }
  return kOk;
}

}  // namespace

void add_status(CLI::App& app, Commands& out) {
  auto config = std::make_shared<std::string>();
  auto* status_cmd = app.add_subcommand(
      "status",
      "Show the store and each federation link: queue, lag, last error, breaker, dead letters");
  config_option(status_cmd, config);
  out.push_back({status_cmd, [config] { return status(load_node_config(*config)); }});
}

}  // namespace simpul::cli
