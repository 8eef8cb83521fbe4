#pragma once
// Connectors bridge a legacy complaint app (Ape Kesah, a WhatsApp desk, a spreadsheet export)
// and Simpul. A connector *type* is a factory with a stable name (persisted: it names cursors
// and outbox destinations, so it never changes) and a JSON Schema for its settings
// (schema/connectors/<type>.schema.json). A connector *instance* is one configured `id` of a type.
// The compiled-in types are one explicit list, builtin_connectors() in connectors/builtin.cpp.
//
// Lifecycle: the factory validates settings and builds the instance without any I/O (so
// `simpul check` can run it); start() hands it its context; drain() asks it to finish what it
// has started and take nothing new.
//
// Contract: a connector never opens Simpul's database, never starts a thread of its own and
// never blocks the io thread. It turns the app's bytes into source records (JSON objects the
// instance's mapping reads) and canonical updates into the app's requests. The core owns
// cursors, checkpoints, retries, dead letters and the mapping; each instance's ConnectorContext
// lends HTTP, timers, the clock, a logger and metrics tagged with its id, and a worker thread
// for blocking work (a database driver). Every call into a connector and every callback it
// receives happens on the node's io thread; only the work given to `blocking` runs elsewhere.
//
// A connector type compiles against gateway/include/simpul only (this header, json.hpp,
// signing.hpp, delivery.hpp, url.hpp, cursor.hpp, time.hpp); the build gives it no other
// include path.

#include <rapidjson/document.h>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simpul/delivery.hpp"
#include "simpul/errors.hpp"
#include "simpul/model.hpp"

namespace simpul {

enum class ConnectorHealth { ok, degraded, failing };
std::string_view to_string(ConnectorHealth h) noexcept;

struct HealthReport {
  ConnectorHealth state = ConnectorHealth::ok;
  std::string last_error;  // a code or short sentence, never a body or personal data
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // names in lowercase

// An HTTP request a connector asks the host to make. The host owns connections, TLS
// verification (https:// urls, the system trust store) and the deadline.
struct FetchRequest {
  std::string method = "GET";
  std::string url;  // http(s)://host[:port]/path?query
  HeaderList headers;
  std::string body;
  int timeout_ms = 10'000;
};

// An answer from the app. A transport failure (no connection, TLS, timeout) is not an answer:
// fetch() gives a Problem instead (errc::timeout or errc::unavailable, detail says which).
struct FetchResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
  std::string header(std::string_view name) const;
};

// What the node lends one connector instance. Everything here is tagged with the instance's id.
class ConnectorContext {
 public:
  virtual ~ConnectorContext() = default;
  virtual const std::string& connector_id() const = 0;
  virtual TimeMs now() const = 0;
  // Calls `fn` on the io thread after `ms` milliseconds.
  virtual void after(int ms, std::function<void()> fn) = 0;
  // One HTTP request over the node's pooled connections; `done` runs on the io thread.
  virtual void fetch(FetchRequest req, std::function<void(Result<FetchResponse>)> done) = 0;
  // Log lines with connector=<id>; `detail` is a code or a short sentence, never a body.
  virtual void log_info(std::string_view event, std::string_view detail) = 0;
  virtual void log_warn(std::string_view event, std::string_view detail) = 0;
  // Adds to the counter simpul_connector_<name>_total{connector="<id>"} on /metrics.
  virtual void count(std::string_view name, double v = 1) = 0;

  // Runs `work` on this instance's worker thread (one thread per instance, jobs in the order
  // given, started at the first job) and then `done` on the io thread with its result. For
  // blocking calls: a database driver, a file. An exception thrown by `work` arrives as an
  // errc::unavailable problem. When the node stops, the running job finishes and the ones not
  // started are answered errc::unavailable ("the node is stopping") without running.
  template <class T>
  void blocking(std::function<Result<T>()> work, std::function<void(Result<T>)> done) {
    auto slot = std::make_shared<std::optional<Result<T>>>();
    run_blocking(
        [slot, work = std::move(work)] {
          try {
            slot->emplace(work());
          } catch (const std::exception& e) {
            slot->emplace(make_problem(errc::unavailable, "", "exception", e.what()));
          }
        },
        [slot, done = std::move(done)] {
          if (!slot->has_value())
            slot->emplace(make_problem(errc::unavailable, "", "stopping", "the node is stopping"));
          done(std::move(**slot));
        });
  }

 protected:
  // `work` on the worker thread (or not at all when stopping), then `done` on the io thread;
  // `work` does not throw.
  virtual void run_blocking(std::function<void()> work, std::function<void()> done) = 0;
};

// One source record as a connector read it: parsed once, where it arrived, and carried as that
// value to the mapping (no second parse), with its text as the raw payload Simpul keeps.
// Records of one delivery share its parsed document.
class SourceRecord {
 public:
  SourceRecord() = default;
  // A JSON object inside `doc` (which it keeps alive), and its text.
  SourceRecord(std::shared_ptr<const void> doc, const rapidjson::Value& value, std::string text)
      : doc_(std::move(doc)), value_(&value), text_(std::move(text)) {}
  // Parses one record's text: a JSON object, or the problem (json::parse's rules; rule "type"
  // for JSON that is not an object). The value's memory is sized to the record, so records
  // held a batch at a time cost what they weigh.
  static Result<SourceRecord> parse(std::string text);
  // A whole parsed document that is the record.
  static SourceRecord of(rapidjson::Document doc, std::string text);

  const rapidjson::Value& value() const { return *value_; }
  const std::string& text() const { return text_; }
  bool empty() const { return value_ == nullptr; }

 private:
  std::shared_ptr<const void> doc_;  // what holds the value: a delivery's or its own document
  const rapidjson::Value* value_ = nullptr;
  std::string text_;
};

// Source records an inbound side produced, and where to continue from.
struct InboundBatch {
  std::vector<SourceRecord> records;  // one per complaint
  std::string cursor;                 // opaque to the core, stored with the records; written
                                      // with cursor_text (simpul/cursor.hpp)
  bool more = false;                  // ask again at once
  // The source's own key of each record, in the same order, when its rows have one (a
  // database table's key): what the core keeps to ask for those rows again in a reconciliation
  // (Connector::rows_by_key). Empty otherwise.
  std::vector<std::string> keys;
};

// A webhook delivery as it arrived.
struct WebhookRequest {
  HeaderList headers;
  std::string_view body;
  TimeMs now = 0;
  std::string header(std::string_view name) const;
};

// A change made in Simpul (upstream decisions, answers) for the app a complaint came from.
struct OutboundUpdate {
  std::string complaint_id;
  std::string source_id;             // the app's own id for the complaint (its ref)
  Event event;                       // the event being delivered
  Status status = Status::received;  // the complaint's status after it
  std::string app_status;            // the mapping's outbound value for `status` ("" when none)
  std::string text;                  // an answer or note carried by the event, "" when none
};

// One row of an export file, as a source record.
struct SourceRow {
  std::int64_t line = 0;        // 1-based line where the row starts (for the rejects file)
  std::int64_t end_offset = 0;  // byte offset just after the row: where a resumed import starts
  SourceRecord record;          // empty when `error` is set
  std::string error;            // why the row cannot be read (bad quoting, not JSON, ...)
};

// Reads an export file row by row (blocking file I/O: for `simpul import`, not the daemon).
class RowReader {
 public:
  virtual ~RowReader() = default;
  // The next row, or nullopt at the end of the file. Throws std::runtime_error when the file
  // itself cannot be read.
  virtual std::optional<SourceRow> next() = 0;
  virtual std::int64_t size() const = 0;  // bytes in the file, for progress
};

struct DeliveryResult {
  DeliveryOutcome outcome = DeliveryOutcome::delivered;
  std::string detail;      // why, for status and dead letters (no body echo)
  int retry_after_s = -1;  // from a 429/503
};

// delivery_outcome (simpul/delivery.hpp) for a fetch: a transport failure is a retry.
DeliveryResult classify_delivery(const Result<FetchResponse>& r);

class Connector {
 public:
  explicit Connector(std::string id) : id_(std::move(id)) {}
  virtual ~Connector() = default;
  const std::string& id() const { return id_; }

  virtual void start(ConnectorContext& ctx) { ctx_ = &ctx; }
  virtual void drain() {}
  virtual HealthReport health() const { return health_; }

  // Inbound, pushed: verify a delivery and split it into source records. A problem is answered
  // with its HTTP status (401 bad signature, 400 malformed, ...) and nothing is stored.
  virtual bool accepts_webhooks() const { return false; }
  virtual Result<InboundBatch> accept_webhook(const WebhookRequest&) {
    return make_problem(errc::not_found, "", "connector", "this connector takes no webhooks");
  }

  // Inbound, polled: fetch the records after `cursor` ("" at the start). The core calls again
  // after poll_interval_ms, or at once when the batch says `more`.
  virtual bool polls() const { return false; }
  virtual int poll_interval_ms() const { return 30'000; }
  virtual void poll(const std::string& /*cursor*/, std::function<void(Result<InboundBatch>)> done) {
    done(make_problem(errc::not_found, "", "connector", "this connector does not poll"));
  }

  // Inbound, polled, from a source that can be asked for its rows by key (a database table;
  // its batches carry `keys`): a reconciliation pass every reconcile_interval_ms (0: never).
  // The core walks the keys it holds from this source a chunk at a time and asks for those rows
  // as they are now. A row whose record differs from the one last read (an edit that left the
  // change time alone) is taken in again; a key the answer lacks was deleted at the source.
  // The answer's records carry their keys; its cursor and `more` are not read. More than
  // `max_gone` rows gone in one pass is not believed (a wrong database, a table restored
  // empty): nothing is marked and the connector fails health until a pass finds fewer.
  struct Reconciliation {
    int interval_ms = 0;
    int max_gone = 100;
  };
  virtual Reconciliation reconciliation() const { return {}; }
  virtual void rows_by_key(const std::vector<std::string>& /*keys*/,
                           std::function<void(Result<InboundBatch>)> done) {
    done(make_problem(errc::not_found, "", "connector", "this connector cannot read by key"));
  }

  // Inbound, from an export file (migration, `simpul import`): a reader positioned at byte
  // `offset`/line `line` (0/0 = the start; a resumed import passes its checkpoint).
  virtual bool imports_files() const { return false; }
  virtual std::unique_ptr<RowReader> open_file(const std::string& /*path*/, std::int64_t /*offset*/,
                                               std::int64_t /*line*/) {
    return nullptr;
  }

  // Outbound: deliver one update to the app.
  virtual bool delivers() const { return false; }
  virtual void deliver(const OutboundUpdate&, std::function<void(DeliveryResult)> done) {
    done({DeliveryOutcome::rejected, "this connector does not deliver", -1});
  }

  // `simpul connector test ID`: a live check of connectivity and credentials. ok = a sentence
  // saying what was checked.
  virtual void test(std::function<void(Result<std::string>)> done) {
    done(std::string("nothing to check: this connector type makes no outgoing connections"));
  }

 protected:
  void set_health(ConnectorHealth s, std::string why = "") { health_ = {s, std::move(why)}; }
  // After a delivery: ok when delivered, degraded when the app refused it, failing otherwise.
  void note_delivery(const DeliveryResult& r) {
    if (r.outcome == DeliveryOutcome::delivered)
      set_health(ConnectorHealth::ok);
    else
      set_health(r.outcome == DeliveryOutcome::rejected ? ConnectorHealth::degraded
                                                        : ConnectorHealth::failing,
                 r.detail);
  }
  ConnectorContext* ctx_ = nullptr;

 private:
  std::string id_;
  HealthReport health_;
};

// What a factory gets: the instance's validated settings and a way to read secrets.
struct ConnectorSettings {
  std::string id;
  const rapidjson::Value& settings;  // an object, already valid against the type's schema
  std::string file;                  // config file and pointer of `settings`, for ConfigError
  std::string pointer;
  std::function<std::string(const std::string& ref, const std::string& pointer)> secret;
};

struct ConnectorFactory {
  std::string_view type;     // stable name, e.g. "webhook"
  std::string_view summary;  // one line for `simpul connector list`
  bool inbound = false;
  bool outbound = false;
  bool needs_mapping = true;
  // Validates (beyond the schema) and builds; no I/O. Throws ConfigError.
  std::unique_ptr<Connector> (*create)(const ConnectorSettings&) = nullptr;
  std::string schema_resource() const {
    return "schema/connectors/" + std::string(type) + ".schema.json";
  }
};

// The compiled-in connector types (connectors/builtin.cpp), in a fixed order.
const std::vector<ConnectorFactory>& builtin_connectors();
const ConnectorFactory* find_connector_type(std::string_view type);

}  // namespace simpul
