// `simpul link ID lapor:NID`: attach a tracking id staff entered on the national hub by hand.

#include <cstdio>

#include "cli/command.hpp"
#include "core/uuid.hpp"
#include "ledger/ledger.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

namespace {

int link(const Config& cfg, const std::string& complaint, const std::string& ref) {
  auto colon = ref.find(':');
  std::string system = colon == std::string::npos ? "" : ref.substr(0, colon);
  std::string ext = colon == std::string::npos ? "" : ref.substr(colon + 1);
  if (system.empty() || ext.empty() ||
      (system == "lapor" && ext.find_first_not_of("0123456789") != std::string::npos)) {
    std::fprintf(stderr,
                 "error: the reference must be system:id, and a lapor tracking id is a number "
                 "(lapor:4000123)\n");
    return kUsage;
  }
  auto store = open_node_store(cfg, StoreUse::existing);
  if (auto owner = store->find_by_ref(system, ext); owner && *owner == complaint) {
    std::printf("%s is already linked to %s\n", ref.c_str(), complaint.c_str());
    return kOk;
  }
  auto now = system_now_ms();
  AppendRequest req;
  req.event.event_id = make_uuid_v7(now);
  req.event.complaint_id = complaint;
  req.event.origin = cfg.node.id;
  req.event.at = now;
  req.event.actor = Actor{"admin", "", "cli"};
  req.event.kind = EventKind::linked;
  req.event.payload = "{\"system\":\"" + system + "\",\"id\":\"" + ext + "\"}";
  req.event.hops = {cfg.node.id};
  Ledger ledger(*store, ledger_rules(cfg));
  store->begin();
  auto out = ledger.act(req);
  if (out.error != errc::ok) {
    store->rollback();
    std::fprintf(stderr, "error: %s\n", out.detail.c_str());
    return kRuntime;
  }
  store->audit(now, "cli", "link", complaint, "{\"ref\":\"" + ref + "\"}");
  store->commit();
  std::printf("linked %s to %s\n", ref.c_str(), complaint.c_str());
  return kOk;
}

}  // namespace

void add_link(CLI::App& app, Commands& out) {
  struct Options {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string complaint, ref;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "link", "Attach a tracking id staff entered on the national hub by hand: link ID lapor:NID");
  config_option(sub, o->config);
  sub->add_option("complaint", o->complaint, "The complaint's id in Simpul")->required();
  sub->add_option("ref", o->ref, "system:id, e.g. lapor:4000123")->required();
  out.push_back({sub, [o] { return link(load_node_config(*o->config), o->complaint, o->ref); }});
}

}  // namespace simpul::cli
