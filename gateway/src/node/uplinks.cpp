#include "node/uplinks.hpp"

#include <cstdio>
#include <filesystem>
#include <set>

#include "core/json.hpp"
#include "lapor/lapor_link.hpp"
#include "lapor/lapor_settings.hpp"
#include "node/store_setup.hpp"
#include "simpul/cursor.hpp"

namespace simpul {

namespace {

int no_checks(const Config&, const std::vector<ConnectorSlot>&) { return 0; }

// Dialect lapor: every topic id a mapping can give must be in the hub's topic tree
// (reference.topics when configured, else the copy the node cached from the hub).
int check_topics(const Config& cfg, const std::vector<ConnectorSlot>& connectors) {
  std::string tree, from;
  for (const auto& [name, text] : cfg.reference)
    if (name == "topics") tree = text, from = "reference.topics";
  if (tree.empty() && std::filesystem::exists(cfg.store.path)) {
    auto store = open_node_store(cfg, StoreUse::existing);
    tree = cursor_body(store->cursor(LaporLink::kTopicsCursor), LaporLink::kTopicsFormat,
                       LaporLink::kTopicsCursor);
    from = "the hub's tree cached in " + cfg.store.path;
  }
  if (tree.empty()) {
    std::printf(
        "  topics: the hub's topic tree is not cached yet (the node fetches it when it starts); "
        "mapping topic ids not checked\n");
    return 0;
  }
  std::set<std::string> known;
  if (auto doc = json::parse(tree); doc && doc->IsArray())
    for (const auto& t : doc->GetArray()) known.insert(json::get_string(t, "id"));
  int unknown = 0;
  for (const auto& c : connectors) {
    if (!c.mapping) continue;
    for (const auto& [pointer, id] : c.mapping->topic_ids()) {
      if (known.count(id)) continue;
      std::fprintf(stderr, "%s: %s: topic id \"%s\" is not in the hub's topic tree\n",
                   c.mapping->file().c_str(), pointer.c_str(), id.c_str());
      ++unknown;
    }
  }
  // upstream.lapor.topics maps hub topic ids: each must be one of the tree's.
  const auto settings = lapor::read_settings(cfg);
  for (const auto& [id, category] : settings.topics) {
    if (known.count(id)) continue;
    std::fprintf(stderr,
                 "%s: /upstream/lapor/topics/%s: topic id \"%s\" is not in the hub's topic tree\n",
                 cfg.file.c_str(), id.c_str(), id.c_str());
    ++unknown;
  }
  std::printf("  topics: %zu in %s; %d unknown topic id%s in mappings and upstream.lapor.topics\n",
              known.size(), from.c_str(), unknown, unknown == 1 ? "" : "s");
  return unknown ? 78 : 0;
}

// Dialect lapor: the hub's agency names the node was sent that upstream.lapor.agencies does not
// map to an agency code here (their complaints would count apart from the agency's own).
int check_agencies(const Config& cfg) {
  if (!std::filesystem::exists(cfg.store.path)) return 0;
  auto store = open_node_store(cfg, StoreUse::existing);
  const std::string text = cursor_body(store->cursor(LaporLink::kUnmappedCursor),
                                       LaporLink::kTopicsFormat, LaporLink::kUnmappedCursor);
  const auto settings = lapor::read_settings(cfg);
  int unmapped = 0;
  if (auto doc = json::parse(text); doc && doc->IsArray()) {
    for (const auto& v : doc->GetArray()) {
      if (!v.IsString() || settings.agency_code(v.GetString())) continue;  // mapped since
      std::fprintf(stderr,
                   "%s: /upstream/lapor/agencies: the hub disposed reports to \"%s\", which no "
                   "entry maps to an agency code here\n",
                   cfg.file.c_str(), v.GetString());
      ++unmapped;
    }
  }
  std::printf("  agencies: %zu hub names mapped; %d seen unmapped\n", settings.agencies.size(),
              unmapped);
  // Hub topics of reports pulled here that no entry of upstream.lapor.topics maps.
  const std::string topics =
      cursor_body(store->cursor(LaporLink::kUnmappedTopicsCursor), LaporLink::kTopicsFormat,
                  LaporLink::kUnmappedTopicsCursor);
  int topics_unmapped = 0;
  if (auto doc = json::parse(topics); doc && doc->IsArray()) {
    for (const auto& v : doc->GetArray()) {
      if (!v.IsString() || settings.topics.count(v.GetString())) continue;  // mapped since
      std::fprintf(stderr,
                   "%s: /upstream/lapor/topics: reports pulled from the hub have topic id \"%s\", "
                   "which no entry maps to a category here\n",
                   cfg.file.c_str(), v.GetString());
      ++topics_unmapped;
    }
  }
  std::printf("  hub topics: %zu mapped to categories; %d seen unmapped\n", settings.topics.size(),
              topics_unmapped);
  return unmapped || topics_unmapped ? 78 : 0;
}

int check_lapor(const Config& cfg, const std::vector<ConnectorSlot>& connectors) {
  const int topics = check_topics(cfg, connectors);
  const int agencies = check_agencies(cfg);
  return topics ? topics : agencies;
}

std::unique_ptr<Uplink> make_simpul(UplinkContext& c) {
  return std::make_unique<UpstreamLink>(c.ioc, c.supervisor, c.cfg, std::move(c.credential),
                                        c.reader, c.writer, c.clock, c.signing_key);
}

std::unique_ptr<Uplink> make_lapor(UplinkContext& c) {
  return std::make_unique<LaporLink>(c.ioc, c.supervisor, c.cfg, std::move(c.credential), c.reader,
                                     c.writer, c.clock);
}

// Dialect simpul has no section of its own: everything it needs is in `upstream`.
void no_section(const Config& cfg) {
  if (!cfg.upstream.dialect_section.empty())
    throw ConfigError(cfg.file, "/upstream/" + cfg.upstream.dialect,
                      "dialect " + cfg.upstream.dialect + " takes no block of its own");
}

void lapor_section(const Config& cfg) { (void)lapor::read_settings(cfg); }

}  // namespace

const std::vector<UplinkDialect>& uplink_dialects() {
  static const std::vector<UplinkDialect> kDialects = {
      {"simpul", "a parent Simpul node (docs/federation.md)", no_section, make_simpul, no_checks},
      {"lapor", "the national hub SP4N-LAPOR! (docs/lapor.md)", lapor_section, make_lapor,
       check_lapor},
  };
  return kDialects;
}

namespace {
Config with_dialect_checked(Config cfg) {
  if (cfg.upstream.enabled) uplink_dialect(cfg).check_section(cfg);
  return cfg;
}
}  // namespace

Config load_node_config(const std::string& path) { return with_dialect_checked(load_config(path)); }

Config parse_node_config(std::string_view text, const std::string& file,
                         const std::string& base_dir) {
  return with_dialect_checked(parse_config(text, file, base_dir));
}

const UplinkDialect& uplink_dialect(const Config& cfg) {
  for (const auto& d : uplink_dialects())
    if (d.name == cfg.upstream.dialect) return d;
  throw ConfigError(cfg.file, "/upstream/dialect",
                    "unknown dialect \"" + cfg.upstream.dialect + "\"");
}

}  // namespace simpul
