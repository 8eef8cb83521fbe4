// simpul: the one binary. Exit codes: 0 ok, 1 runtime failure, 64 usage, 78 bad config.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <iostream>

#include <unistd.h>

#include "cli/commands.hpp"
#include "connectors/importer.hpp"
#include "connectors/registry.hpp"
#include "connectors/runtime.hpp"
#include "core/config.hpp"
#include "core/json.hpp"
#include "core/uuid.hpp"
#include "federation/directory.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "http/node.hpp"
#include "lapor/lapor_link.hpp"
#include "simpul/calendar.hpp"
#include "node/store_setup.hpp"
#include "store/store.hpp"

namespace {

constexpr int kOk = 0;
constexpr int kRuntime = 1;
constexpr int kUsage = 64;
constexpr int kConfig = 78;

const char* const kScopes[] = {"ingest", "read", "act", "pii", "admin", "node"};

bool valid_scopes(const std::string& s) {
  std::size_t i = 0;
  if (s.empty()) return false;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string one = s.substr(i, j - i);
    bool known = false;
    for (const char* k : kScopes) known = known || one == k;
    if (!known) return false;
    i = j + 1;
  }
  return true;
}

// `simpul check` with dialect lapor: every topic id a mapping can give must be in the hub's
// topic tree (reference.topics when configured, else the copy the node cached from the hub).
int check_topics(const simpul::Config& cfg, const std::vector<simpul::ConnectorSlot>& connectors) {
  std::string tree, from;
  for (const auto& [name, text] : cfg.reference)
    if (name == "topics") tree = text, from = "reference.topics";
  if (tree.empty() && std::filesystem::exists(cfg.store.path)) {
    auto store = simpul::open_node_store(cfg, simpul::StoreUse::existing);
    tree = store->cursor(simpul::LaporLink::kTopicsCursor);
    from = "the hub's tree cached in " + cfg.store.path;
  }
  if (tree.empty()) {
    std::printf("  topics: the hub's topic tree is not cached yet (the node fetches it when it starts); "
                "mapping topic ids not checked\n");
    return kOk;
  }
  std::set<std::string> known;
  if (auto doc = simpul::json::parse(tree); doc && doc->IsArray())
    for (const auto& t : doc->GetArray()) known.insert(simpul::json::get_string(t, "id"));
  int unknown = 0;
  for (const auto& c : connectors) {
    if (!c.mapping) continue;
    for (const auto& [pointer, id] : c.mapping->topic_ids()) {
      if (known.count(id)) continue;
      std::fprintf(stderr, "%s: %s: topic id \"%s\" is not in the hub's topic tree\n", c.mapping->file().c_str(),
                   pointer.c_str(), id.c_str());
      ++unknown;
    }
  }
  std::printf("  topics: %zu in %s; %d unknown topic id%s in mappings\n", known.size(), from.c_str(), unknown,
              unknown == 1 ? "" : "s");
  return unknown ? kConfig : kOk;
}

// GET `target` from the running node this config describes; "" when it cannot be reached. Our
// own node: /metrics and /readyz need no credential and none is sent, so on a TLS listener the
// probe skips certificate checks (the certificate may name a public host, not 127.0.0.1).
std::string ask_own_node(const simpul::Config& cfg, const std::string& target) {
  if (cfg.http.port == 0) return "";
  try {
    simpul::http::TlsClientConfig probe_tls;
    probe_tls.enabled = cfg.http.tls.enabled();
    probe_tls.verify = false;
    simpul::http::Client c(cfg.http.host == "0.0.0.0" ? "127.0.0.1" : cfg.http.host, cfg.http.port, 2000, probe_tls);
    return c.request("GET", target).body;
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Simpul: federation gateway for SP4N-LAPOR! complaint channels"};
  app.require_subcommand(1);
  std::string config_path;

  auto* serve = app.add_subcommand("serve", "Run the node");
  serve->add_option("--config", config_path, "Config file")->required();
  std::string ready_file;
  serve->add_option("--ready-file", ready_file, "Write the bound port to this file once listening");
  bool new_store = false;
  serve->add_flag("--new-store", new_store,
                  "Begin an empty store even where this node had a database (it was lost and is not restored)");

  auto* check = app.add_subcommand("check", "Validate a config file (and what it references)");
  check->add_option("--config", config_path, "Config file")->required();

  auto* db = app.add_subcommand("db", "Database maintenance");
  db->require_subcommand(1);
  auto* db_migrate = db->add_subcommand("migrate", "Apply pending migrations");
  db_migrate->add_option("--config", config_path, "Config file")->required();
  auto* db_backup = db->add_subcommand("backup", "Online backup to a file");
  db_backup->add_option("--config", config_path, "Config file")->required();
  std::string backup_file;
  db_backup->add_option("file", backup_file, "Destination file")->required();

  auto* token = app.add_subcommand("token", "API and node credentials");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Issue a token (printed once)");
  token_create->add_option("--config", config_path, "Config file")->required();
  std::string token_name = "api", token_scopes = "read", token_node;
  token_create->add_option("--name", token_name, "Who the token is for");
  auto* scopes_opt = token_create->add_option("--scopes", token_scopes, "Comma-separated: ingest,read,act,pii,admin,node");
  token_create->add_option("--node", token_node, "Child node this credential identifies (scope node by default)");
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a token by id");
  token_revoke->add_option("--config", config_path, "Config file")->required();
  std::string token_id;
  token_revoke->add_option("id", token_id, "Token id")->required();
  auto* token_list = token->add_subcommand("list", "List tokens (never their secrets)");
  token_list->add_option("--config", config_path, "Config file")->required();

  auto* status = app.add_subcommand("status", "Show the store and each federation link: queue, lag, last error, breaker, dead letters");
  status->add_option("--config", config_path, "Config file")->required();

  auto* dlq = app.add_subcommand("dlq", "Dead letters: events a destination refused");
  dlq->require_subcommand(1);
  auto* dlq_list = dlq->add_subcommand("list", "List dead letters");
  dlq_list->add_option("--config", config_path, "Config file")->required();
  auto* dlq_retry = dlq->add_subcommand("retry", "Put a dead letter back in its outbox");
  dlq_retry->add_option("--config", config_path, "Config file")->required();
  auto* dlq_drop = dlq->add_subcommand("drop", "Forget a dead letter (the event stays stored here)");
  dlq_drop->add_option("--config", config_path, "Config file")->required();
  std::int64_t dlq_id = 0;
  dlq_retry->add_option("id", dlq_id, "Dead letter id (from dlq list)")->required();
  dlq_drop->add_option("id", dlq_id, "Dead letter id (from dlq list)")->required();

  auto* import = app.add_subcommand("import", "Migrate an export file (CSV or JSON Lines) through a file_import connector");
  import->add_option("--config", config_path, "Config file")->required();
  simpul::ImportOptions import_opt;
  import->add_option("--connector", import_opt.connector_id, "The file_import connector's id")->required();
  import->add_option("file", import_opt.file, "The export file")->required();
  import->add_flag("--dry-run", import_opt.dry_run, "Map, check and report everything; store nothing");
  import->add_flag("--restart", import_opt.restart, "Read the whole file again instead of resuming");
  import->add_option("--rejects", import_opt.rejects_file, "Where rejected rows are listed (default FILE.rejects.csv)");

  auto* renormalize = app.add_subcommand("renormalize", "Re-run a connector's mapping over its raw payloads; amend what really changed");
  renormalize->add_option("--config", config_path, "Config file")->required();
  std::string renormalize_id;
  bool renormalize_dry = false;
  renormalize->add_option("--connector", renormalize_id, "The connector whose records to recompute")->required();
  renormalize->add_flag("--dry-run", renormalize_dry, "Print what would change; store nothing");

  auto* connector = app.add_subcommand("connector", "Connector types and instances");
  connector->require_subcommand(1);
  auto* connector_list = connector->add_subcommand("list", "The compiled-in connector types and their settings");
  auto* connector_test = connector->add_subcommand("test", "A live check of a configured connector's connectivity and credentials");
  connector_test->add_option("--config", config_path, "Config file")->required();
  std::string connector_test_id;
  connector_test->add_option("id", connector_test_id, "The connector's id")->required();

  auto* lapor_sim = app.add_subcommand("lapor-sim", "Run the SP4N-LAPOR! simulator (tests and demos; not the real hub)");
  std::string sim_config;
  lapor_sim->add_option("--config", sim_config, "Simulator config (config/lapor-sim.example.json)")->required();
  lapor_sim->add_option("--ready-file", ready_file, "Write the bound port to this file once listening");

  auto* link = app.add_subcommand("link", "Attach a tracking id staff entered on the national hub by hand: link ID lapor:NID");
  link->add_option("--config", config_path, "Config file")->required();
  std::string link_complaint, link_ref;
  link->add_option("complaint", link_complaint, "The complaint's id in Simpul")->required();
  link->add_option("ref", link_ref, "system:id, e.g. lapor:4000123")->required();

  auto* demo = app.add_subcommand("demo", "Run a three-tier federation on loopback and feed it sample complaints");
  std::string demo_dir = "config/demo";
  demo->add_option("--config-dir", demo_dir, "Directory with nasional.json, provinsi-kepri.json, kota-batam.json");
  std::string samples;
  demo->add_option("--samples", samples, "JSON Lines of sample complaints")->required();
  bool keep_running = false;
  demo->add_flag("--keep-running", keep_running, "Keep serving after the demo until Ctrl-C");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }

  try {
    if (*demo) return simpul::cli::run_demo(demo_dir, samples, keep_running);
    if (*connector_list) return simpul::cli::list_connector_types();
    if (*lapor_sim) return simpul::cli::run_lapor_sim(sim_config, ready_file);

    simpul::Config cfg = simpul::load_config(config_path);

    if (*check) {
      simpul::resolve_secret(cfg.auth.admin_token_ref, cfg.file, "/auth/admin_token");
      if (cfg.upstream.enabled)
        simpul::resolve_secret(cfg.upstream.credential_ref, cfg.file, "/upstream/credential");
      simpul::fold_context(cfg);  // the holiday file
      simpul::check_tls(cfg);
      auto connectors = simpul::build_connectors(cfg);
      std::printf("%s: ok (node %s, tier %s, store %s, listen %s:%u, %zu connector%s)\n", config_path.c_str(),
                  cfg.node.id.c_str(), cfg.node.tier.c_str(), cfg.store.path.c_str(),
                  cfg.http.host.c_str(), cfg.http.port, connectors.size(), connectors.size() == 1 ? "" : "s");
      for (const auto& c : connectors)
        std::printf("  connector %s (%s)%s%s\n", c.config->id.c_str(), c.config->type.c_str(),
                    c.mapping ? ", mapping " : "", c.mapping ? c.mapping->file().c_str() : "");
      if (cfg.upstream.enabled && cfg.upstream.dialect == "lapor") return check_topics(cfg, connectors);
      return kOk;
    }
    if (*serve) {
      cfg.store.new_store = new_store;
      simpul::Node node(cfg);
      node.start();
      if (!ready_file.empty()) {
        std::ofstream(ready_file + ".tmp") << node.port() << "\n";
        std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());
      }
      node.run();
      return kOk;
    }
    if (*import) {
      import_opt.progress_bar = isatty(2);
      import_opt.progress = [](const std::string& text) { std::fputs(text.c_str(), stderr); };
      auto r = simpul::run_import(cfg, import_opt);
      std::printf("%s%s: %lld rows, %lld created, %lld updated, %lld unchanged, %lld rejected in %.1f s\n",
                  import_opt.dry_run ? "dry run (nothing stored) " : "", import_opt.file.c_str(),
                  static_cast<long long>(r.rows), static_cast<long long>(r.created), static_cast<long long>(r.updated),
                  static_cast<long long>(r.unchanged), static_cast<long long>(r.rejected), r.seconds);
      if (r.resumed_after_line > 0)
        std::printf("resumed after line %lld, where the last committed batch ended (--restart reads it all again)\n",
                    static_cast<long long>(r.resumed_after_line));
      if (r.rejected > 0)
        std::printf("rejected rows, with line numbers and reasons: %s\n",
                    (import_opt.rejects_file.empty() ? import_opt.file + ".rejects.csv" : import_opt.rejects_file).c_str());
      return kOk;
    }
    if (*connector_test) {
      auto r = simpul::test_connector(cfg, connector_test_id, 15'000);
      if (!r) {
        std::fprintf(stderr, "%s: FAILED: %s\n", connector_test_id.c_str(), r.error().detail.c_str());
        return kRuntime;
      }
      std::printf("%s: ok: %s\n", connector_test_id.c_str(), r->c_str());
      return kOk;
    }
    if (*renormalize) {
      auto r = simpul::run_renormalize(cfg, renormalize_id, renormalize_dry,
                                       [](const std::string& line) { std::printf("%s\n", line.c_str()); });
      std::printf("%s%lld complaints, %lld changed, %lld failed\n", renormalize_dry ? "dry run (nothing stored): " : "",
                  static_cast<long long>(r.complaints), static_cast<long long>(r.changed), static_cast<long long>(r.failed));
      return r.failed > 0 ? kRuntime : kOk;
    }
    if (*db_migrate) {
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::schema);
      auto& store = *store_ptr;
      int before = store.schema_version();
      store.migrate();
      std::printf("schema version %d -> %d\n", before, store.schema_version());
      return kOk;
    }
    if (*db_backup) {
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::existing);
      auto& store = *store_ptr;
      store.backup_to(backup_file);
      std::printf("backed up %s to %s\n", cfg.store.path.c_str(), backup_file.c_str());
      return kOk;
    }
    if (*status) {
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::existing);
      auto& store = *store_ptr;
      auto now = simpul::system_now_ms();
      std::printf("node %s (%s, region %s), store %s\n", cfg.node.id.c_str(), cfg.node.tier.c_str(),
                  cfg.node.region.c_str(), cfg.store.path.c_str());
      std::printf("  complaints %lld, events %lld, schema version %d\n",
                  static_cast<long long>(store.complaint_count()), static_cast<long long>(store.event_count()),
                  store.schema_version());
      if (cfg.upstream.enabled) {
        auto b = store.backlog(simpul::Destination::upstream().name());
        std::printf("upstream %s at %s:%u\n", cfg.upstream.node.c_str(), cfg.upstream.host.c_str(), cfg.upstream.port);
        std::printf("  queue      %lld pending (%lld retrying)\n", static_cast<long long>(b.pending),
                    static_cast<long long>(b.retrying));
        std::printf("  lag        %s\n", b.oldest_pending
                        ? (std::to_string((now - *b.oldest_pending) / 1000) + " s (oldest pending event)").c_str()
                        : "none");
        std::printf("  last error %s\n", b.last_error.empty() ? "-" : b.last_error.c_str());
        std::printf("  dead       %lld (simpul dlq list)\n", static_cast<long long>(b.dead));
        std::string cursor = store.cursor("upstream.changes");
        std::printf("  feed       cursor %s\n", cursor.empty() ? "(start)" : cursor.c_str());
        // The breaker lives in the running node: ask it.
        std::string breaker = "unknown (node not reachable)";
        std::string metrics = ask_own_node(cfg, "/metrics");
        if (metrics.find("simpul_upstream_breaker_open 1") != std::string::npos) breaker = "OPEN (the link is paused after repeated failures)";
        else if (metrics.find("simpul_upstream_breaker_open 0") != std::string::npos) breaker = "closed";
        std::printf("  breaker    %s\n", breaker.c_str());
      }
      if (!cfg.connectors.empty()) {
        // Health lives in the running node: ask its /readyz; the rest is in the database.
        std::string ready = ask_own_node(cfg, "/readyz");
        auto checks = simpul::json::parse(ready.empty() ? "{}" : ready);
        std::printf("connectors\n");
        for (const auto& ci : cfg.connectors) {
          std::string health = "unknown (node not reachable)";
          if (checks && checks->IsObject() && checks->HasMember("checks")) {
            auto it = (*checks)["checks"].FindMember(("connector:" + ci.id).c_str());
            if (it != (*checks)["checks"].MemberEnd())
              health = it->value.IsString() ? it->value.GetString()
                                            : simpul::json::get_string(it->value, "state") + " (" +
                                                  simpul::json::get_string(it->value, "last_error") + ")";
          }
          std::printf("  %-20s %-12s health %s\n", ci.id.c_str(), ci.type.c_str(), health.c_str());
          auto b = store.backlog(simpul::Destination::connector(ci.id).name());
          if (b.pending > 0 || b.dead > 0 || !b.last_error.empty())
            std::printf("  %-20s outbox %lld pending (%lld retrying), dead %lld, last error %s\n", "",
                        static_cast<long long>(b.pending), static_cast<long long>(b.retrying),
                        static_cast<long long>(b.dead), b.last_error.empty() ? "-" : b.last_error.c_str());
          std::string cursor = store.cursor("connector." + ci.id + ".cursor");
          if (!cursor.empty()) std::printf("  %-20s poll cursor %s\n", "", cursor.c_str());
        }
      }
      {
        // A node loop that failed (and is restarting) or stopped is a check in /readyz.
        std::string ready = ask_own_node(cfg, "/readyz");
        auto checks = simpul::json::parse(ready.empty() ? "{}" : ready);
        if (checks && checks->IsObject() && checks->HasMember("checks") && (*checks)["checks"].IsObject())
          for (const auto& m : (*checks)["checks"].GetObject()) {
            std::string name = m.name.GetString();
            if (name.rfind("loop:", 0) != 0) continue;
            std::printf("loop %s: %s (%s)\n", name.c_str() + 5, simpul::json::get_string(m.value, "state").c_str(),
                        simpul::json::get_string(m.value, "last_error").c_str());
          }
      }
      if (!cfg.children.empty()) {
        std::printf("children (their changes feeds)\n");
        for (const auto& child : cfg.children) {
          auto b = store.feed_backlog(child.id);
          std::string lag = b.oldest_unfetched ? std::to_string((now - *b.oldest_unfetched) / 1000) + " s" : "none";
          std::string acked = b.acked_at ? "f" + std::to_string(b.acked) + " at " + simpul::format_utc(*b.acked_at)
                                         : "nothing yet";
          std::printf("  %-20s unfetched %lld, lag %s, acknowledged %s\n", child.id.c_str(),
                      static_cast<long long>(b.unfetched), lag.c_str(), acked.c_str());
        }
      }
      return kOk;
    }
    if (*dlq_list) {
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::existing);
      auto& store = *store_ptr;
      auto rows = store.dead_letters(1000);
      if (rows.empty()) std::printf("no dead letters\n");
      for (const auto& d : rows)
        std::printf("%-6lld %-10s %s complaint %s event %s: %s\n", static_cast<long long>(d.id),
                    d.destination.c_str(), simpul::format_utc(d.created_at).c_str(), d.complaint_id.c_str(),
                    d.event_id.c_str(), d.error.c_str());
      return kOk;
    }
    if (*link) {
      auto colon = link_ref.find(':');
      std::string system = colon == std::string::npos ? "" : link_ref.substr(0, colon);
      std::string ext = colon == std::string::npos ? "" : link_ref.substr(colon + 1);
      if (system.empty() || ext.empty() || (system == "lapor" && ext.find_first_not_of("0123456789") != std::string::npos)) {
        std::fprintf(stderr, "error: the reference must be system:id, and a lapor tracking id is a number (lapor:4000123)\n");
        return kUsage;
      }
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::existing);
      auto& store = *store_ptr;
      if (auto owner = store.find_by_ref(system, ext); owner && *owner == link_complaint) {
        std::printf("%s is already linked to %s\n", link_ref.c_str(), link_complaint.c_str());
        return kOk;
      }
      auto now = simpul::system_now_ms();
      simpul::AppendRequest req;
      req.event.event_id = simpul::make_uuid_v7(now);
      req.event.complaint_id = link_complaint;
      req.event.origin = cfg.node.id;
      req.event.at = now;
      req.event.actor = simpul::Actor{"admin", "", "cli"};
      req.event.kind = simpul::EventKind::linked;
      req.event.payload = "{\"system\":\"" + system + "\",\"id\":\"" + ext + "\"}";
      req.event.hops = {cfg.node.id};
      simpul::Ledger ledger(store, simpul::ledger_rules(cfg));
      store.begin();
      auto out = ledger.act(req);
      if (out.error != simpul::errc::ok) {
        store.rollback();
        std::fprintf(stderr, "error: %s\n", out.detail.c_str());
        return kRuntime;
      }
      store.audit(now, "cli", "link", link_complaint, "{\"ref\":\"" + link_ref + "\"}");
      store.commit();
      std::printf("linked %s to %s\n", link_ref.c_str(), link_complaint.c_str());
      return kOk;
    }
    if (*dlq_retry || *dlq_drop) {
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::existing);
      auto& store = *store_ptr;
      auto now = simpul::system_now_ms();
      store.begin();
      using Retry = simpul::Outbox::DeadLetterRetry;
      const Retry r = *dlq_retry ? store.retry_dead_letter(dlq_id, now) : Retry::unknown;
      const bool done = *dlq_retry ? r == Retry::requeued : store.drop_dead_letter(dlq_id);
      if (done) store.audit(now, "cli", *dlq_retry ? "dlq.retry" : "dlq.drop", std::to_string(dlq_id), "{}");
      store.commit();
      if (r == Retry::inbound) {
        std::fprintf(stderr,
                     "error: dead letter %lld is a record an app sent that could not be mapped; there is "
                     "nothing to requeue: fix the mapping (the app's next delivery or poll brings it in), "
                     "then drop it with `simpul dlq drop %lld`\n",
                     static_cast<long long>(dlq_id), static_cast<long long>(dlq_id));
        return kRuntime;
      }
      if (!done) {
        std::fprintf(stderr, "error: no dead letter with id %lld\n", static_cast<long long>(dlq_id));
        return kRuntime;
      }
      std::printf("%s dead letter %lld\n", *dlq_retry ? "requeued" : "dropped", static_cast<long long>(dlq_id));
      return kOk;
    }
    if (*token_create) {
      if (!token_node.empty() && scopes_opt->count() == 0) token_scopes = "node";
      if (!valid_scopes(token_scopes)) {
        std::fprintf(stderr, "error: --scopes takes a comma-separated list of ingest, read, act, pii, admin, node\n");
        return kUsage;
      }
      if (!token_node.empty()) {
        bool known = false;
        for (const auto& c : cfg.children) known = known || c.id == token_node;
        if (!known) {
          std::fprintf(stderr, "error: %s is not in this node's children (config /children)\n", token_node.c_str());
          return kUsage;
        }
      }
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::admin);
      auto& store = *store_ptr;
      auto now = simpul::system_now_ms();
      store.begin();
      auto t = store.create_token(token_name, token_scopes, token_node, now);
      store.audit(now, "cli", "token.create", t.id, "{\"scopes\":\"" + token_scopes + "\"}");
      store.commit();
      std::printf("id: %s\nscopes: %s\ntoken: %s\n(store the token now: only its hash is kept)\n",
                  t.id.c_str(), token_scopes.c_str(), t.secret.c_str());
      return kOk;
    }
    if (*token_revoke) {
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::admin);
      auto& store = *store_ptr;
      auto now = simpul::system_now_ms();
      store.begin();
      bool done = store.revoke_token(token_id, now);
      if (done) store.audit(now, "cli", "token.revoke", token_id, "{}");
      store.commit();
      if (!done) {
        std::fprintf(stderr, "error: no active token with id %s\n", token_id.c_str());
        return kRuntime;
      }
      std::printf("revoked %s\n", token_id.c_str());
      return kOk;
    }
    if (*token_list) {
      auto store_ptr = simpul::open_node_store(cfg, simpul::StoreUse::admin);
      auto& store = *store_ptr;
      std::printf("%-10s %-20s %-28s %-12s %s\n", "ID", "NAME", "SCOPES", "NODE", "STATE");
      for (const auto& t : store.list_tokens())
        std::printf("%-10s %-20s %-28s %-12s %s\n", t.id.c_str(), t.name.c_str(), t.scopes.c_str(),
                    t.node_id.empty() ? "-" : t.node_id.c_str(), t.revoked_at ? "revoked" : "active");
      return kOk;
    }
  } catch (const simpul::ConfigError& e) {
    std::fprintf(stderr, "config error: %s: %s: %s\n", e.file().c_str(),
                 e.pointer().empty() ? "(document)" : e.pointer().c_str(), e.reason().c_str());
    return kConfig;
  } catch (const simpul::StoreError& e) {
    std::fprintf(stderr, "store error: %s\n", e.what());
    return kRuntime;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kRuntime;
  }
  return kUsage;
}
