#pragma once
// The node configuration: one JSON file (comments allowed), validated against
// schema/config.schema.json before any value is read. Relative paths in it are resolved
// against the directory of the file. Defaults live here and in config/simpul.example.json.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/directory.hpp"
#include "core/tls.hpp"
#include "simpul/fold.hpp"
#include "simpul/time.hpp"

namespace simpul {

struct Config {
  std::string file;  // where it was read from, for error messages

  struct Node {
    std::string id;
    std::string name;
    std::string tier;  // kabkota | provinsi | nasional
    std::string region;
    Zone zone;  // how naive timestamps are read
    // The node's Ed25519 signing key, a PEM file (resolved path). "": `<node id>.signing.pem`
    // beside the store, made at the first start (node/signing_key.hpp).
    std::string signing_key;
  } node;

  struct Store {
    std::string path;
    bool synchronous_full = true;  // PRAGMA synchronous=FULL on the ingest path
    int busy_timeout_ms = 5000;
    int max_batch = 512;     // most requests one group commit takes
    bool new_store = false;  // `serve --new-store`: begin an empty store where one is expected
    // Index each complaint's title and body for the list's `q` as it is written. Costs about
    // 40% of the peak ingest rate (bench/ingest); off, `q` is refused.
    bool full_text = true;
    // Reporters' identities and raw payloads are sealed under this key (env:NAME or
    // file:/path, 64 hex characters). "" = `<node id>.store-key` beside the store, made at the
    // first start (node/store_setup.hpp). Keys of a rotation in progress: what they sealed is
    // read and sealed again under the current one in the background.
    std::string encryption_key;
    std::vector<std::string> previous_encryption_keys;
  } store;

  struct Http {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: pick a free port (tests)
    std::size_t max_body_bytes = 1 << 20;
    int header_timeout_ms = 10'000;  // slow clients lose the connection
    int body_timeout_ms = 30'000;
    int max_connections = 1024;
    http::TlsServerConfig tls;  // cert_file + key_file: listen with TLS
    // Plain HTTP on a non-loopback address must be asked for (a TLS-terminating proxy in front).
    bool allow_plain_http = false;
    // Reverse proxies whose X-Forwarded-For is believed for the client address (access log).
    std::vector<std::string> trusted_proxies;
  } http;

  struct Auth {
    std::string admin_token_ref;  // env:NAME or file:/path
    // Failed credentials per client address (http/throttle.hpp): a burst, then so many a
    // minute; one auth.failures log line per address per interval.
    int failed_burst = 10;
    int failed_per_minute = 6;
    int failed_log_interval_s = 60;
  } auth;

  struct Sla {
    SlaRules rules;
    std::string holidays_file;  // "" = weekends only
    int scan_interval_s = 60;   // how often the scheduler looks for clocks due
    bool scheduler = true;      // false: this node writes no SLA events (another tool does)
  } sla;

  struct Retention {
    int interval_s = 3600;  // 0: off
    int outbox_done_days = 7;
    int raw_payload_days = 90;
    int idempotency_days = 30;
  } retention;

  // Reconciliation with the tier above (reconcile/reconcile.hpp, docs/operations.md).
  struct Reconcile {
    int interval_s = 3600;    // between the node's own runs; 0: only `simpul reconcile`
    int window_days = 30;     // a run compares the complaints received in the last window_days
    bool repair = false;      // the node's runs also repair what they find
    int warn_after_s = 3600;  // drift above zero longer than this is a health warning
  } reconcile;

  struct Reports {
    int min_n = 5;  // below this N a rate reads as not enough data
  } reports;

  // The web dashboard under /ui/ (docs/dashboard.md).
  struct Ui {
    bool enabled = true;
    int session_idle_minutes = 120;  // a session unused this long ends
    int session_max_hours = 12;      // and every session ends this long after its login
  } ui;

  std::vector<ChildNode> children;  // federation: the nodes below this one
  struct Federation {
    int max_clock_skew_s = 300;  // a child's event stamped further ahead than this is refused
    // What a parent asks of the events its children send (docs/federation.md, signed events):
    // "require" a valid signature from a node in the sender's subtree; "verify" the signatures
    // there are and take unsigned events; "off".
    std::string signatures = "require";
    // How a child proves which node it is (docs/federation.md, "Node identity"): "token" (its
    // node token, the default), "certificate" (a client certificate from the authority in
    // http.tls.client_ca_file naming it), or "both"; a child's own `auth` overrides it.
    std::string child_auth = "token";
  } federation;
  // Reference data served to children: name ("topics", "agencies", "regions") -> the file's
  // JSON text, read and checked at load (each an array of objects with a string "id").
  std::vector<std::pair<std::string, std::string>> reference;

  struct Upstream {
    bool enabled = false;
    std::string host;  // from url: a name or an IP address
    std::uint16_t port = 0;
    http::TlsClientConfig tls;    // https: on, ca_file, server_name (default: host)
    std::string node;             // the parent's node id (its hop name)
    std::string credential_ref;   // env:NAME or file:/path; a node token issued by the parent
    int batch = 200;              // events per POST /fed/v1/events
    int poll_wait_s = 25;         // long-poll wait on the changes feed
    int timeout_ms = 10'000;      // per request, on top of the long-poll wait
    int max_backoff_ms = 30'000;  // cap of the retry backoff (full jitter below it)
    // How often the head of this node's audit chain is sent to the parent, which keeps it
    // (dialect simpul; 0: never).
    int audit_head_interval_s = 300;
    // Sign the events this node originates (docs/federation.md); false only for a parent that
    // does not ask for signatures (federation.signatures off there), or to measure their cost.
    bool sign_events = true;
    std::string dialect = "simpul";  // one of node/uplinks.cpp's list: simpul, lapor
    // The dialect's own section, `upstream.<dialect>`, as JSON text ("" when the file has none);
    // the dialect reads it (lapor/lapor_settings.hpp), checked when the node config is loaded
    // (node/uplinks.hpp, load_node_config).
    std::string dialect_section;
  } upstream;

  // Connector instances (docs/connectors.md), in file order. Settings are checked against the
  // type's schema when the connectors are built (intake/registry.hpp), not here.
  struct ConnectorInstance {
    std::string id;            // stable: names cursors and outbox destinations
    std::string type;          // a builtin connector type
    std::string mapping_file;  // resolved path, "" when none
    std::string settings;      // JSON object text
    std::string pointer;       // "/connectors/<i>", for errors
  };
  std::vector<ConnectorInstance> connectors;
  std::string base_dir;  // the config file's directory (relative paths in connector settings)

  std::string log_level = "info";
  bool log_access = true;  // log.access: an http.access line per request
};

// Throws ConfigError naming the file, the JSON Pointer and the reason.
Config load_config(const std::string& path);
Config parse_config(std::string_view text, const std::string& file, const std::string& base_dir);

// The node's fold context: its working-day calendar (weekends plus `sla.holidays_file`, in the
// node's zone) and SLA rules. Throws ConfigError when the holiday file cannot be read.
FoldContext fold_context(const Config& cfg);

// "cannot read PATH: <the system's reason>" (No such file or directory, Permission denied, ...).
std::string cannot_read(const std::string& path);

// "env:NAME" or "file:/path" -> the secret. Throws ConfigError (pointer given by the caller).
std::string resolve_secret(const std::string& ref, const std::string& file,
                           const std::string& pointer);
// The upstream node token ("" when the node goes by its certificate alone).
std::string upstream_credential(const Config& cfg);

}  // namespace simpul
