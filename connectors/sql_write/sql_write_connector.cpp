#include "sql_write/sql_write_connector.hpp"

#include <algorithm>

#include "simpul/json.hpp"
#include "sql/sql_driver.hpp"
#include "sql/sql_settings.hpp"

namespace simpul::connectors {
namespace {

// What a statement may name. `at` is the event's time as the app's naive DATETIME holds it (in
// the connector's zone); `at_utc` is ISO 8601 UTC.
const char* const kPlaceholders[] = {"source_id", "complaint_id", "event_id", "app_status",
                                     "status",    "kind",         "text",     "agency",
                                     "at",        "at_utc"};

struct Settings {
  sql::Endpoint db;
  std::vector<std::string> statements;  // for every event
  std::vector<std::string> kinds;       // only these event kinds (empty: all it is given)
};

class SqlWriteConnector final : public Connector {
 public:
  SqlWriteConnector(std::string id, Settings s) : Connector(std::move(id)), s_(std::move(s)) {}

  bool delivers() const override { return true; }

  void deliver(const OutboundUpdate& u, std::function<void(DeliveryResult)> done) override {
    const std::string kind(to_string(u.event.kind));
    if (!s_.kinds.empty() && std::find(s_.kinds.begin(), s_.kinds.end(), kind) == s_.kinds.end()) {
      done({DeliveryOutcome::delivered, "not an event kind this connector writes", -1});
      return;
    }
    std::string agency;
    if (auto payload = json::parse(u.event.payload); payload && payload->IsObject())
      agency = json::get_string(*payload, "agency");
    sql::Params p{{"source_id", u.source_id},
                  {"complaint_id", u.complaint_id},
                  {"event_id", u.event.event_id},
                  {"app_status",
                   u.app_status.empty() ? std::nullopt : std::optional<std::string>(u.app_status)},
                  {"status", std::string(to_string(u.status))},
                  {"kind", kind},
                  {"text", u.text.empty() ? std::nullopt : std::optional<std::string>(u.text)},
                  {"agency", agency.empty() ? std::nullopt : std::optional<std::string>(agency)},
                  {"at", sql::wall_time(u.event.at, s_.db.zone_minutes)},
                  {"at_utc", format_utc(u.event.at)}};
    ctx_->blocking<DeliveryResult>(
        [this, p = std::move(p)]() -> Result<DeliveryResult> { return write(p); },
        [this, done = std::move(done)](Result<DeliveryResult> r) {
          DeliveryResult result =
              r ? *r : DeliveryResult{DeliveryOutcome::retry, r.error().detail, -1};
          note_delivery(result);
          done(result);
        });
  }

  void test(std::function<void(Result<std::string>)> done) override {
    ctx_->blocking<std::string>(
        [this]() -> Result<std::string> {
          try {
            if (!db_) db_ = sql::connect(s_.db);
            return db_->server_version() + " answered; " + std::to_string(s_.statements.size()) +
                   " statement(s) per event, not run by this test";
          } catch (const sql::SqlError& e) {
            db_.reset();
            return make_problem(errc::unavailable, "", "database", e.what());
          }
        },
        std::move(done));
  }

 private:
  // On the worker thread: every statement in one transaction, or none of them.
  DeliveryResult write(const sql::Params& p) {
    try {
      if (!db_) db_ = sql::connect(s_.db);
      db_->execute(s_.db.driver == sql::Driver::mariadb ? "START TRANSACTION" : "BEGIN", {});
      try {
        for (const auto& st : s_.statements) db_->execute(st, p);
        db_->execute("COMMIT", {});
      } catch (...) {
        try {
          db_->execute("ROLLBACK", {});
        } catch (const sql::SqlError&) {
          db_.reset();  // the connection is gone: the transaction with it
        }
        throw;
      }
      return {DeliveryOutcome::delivered, "", -1};
    } catch (const sql::SqlError& e) {
      switch (e.kind()) {
        case sql::SqlError::Kind::connect:
        case sql::SqlError::Kind::timeout:
          db_.reset();
          return {DeliveryOutcome::retry, e.what(), -1};
        case sql::SqlError::Kind::auth:
          db_.reset();
          return {DeliveryOutcome::auth, e.what(), -1};
        case sql::SqlError::Kind::query:
          // The statement itself fails for this event (a constraint, a type): sending the same
          // again cannot help. A dead letter, with the database's words.
          return {DeliveryOutcome::rejected, e.what(), -1};
      }
      return {DeliveryOutcome::retry, e.what(), -1};
    }
  }

  Settings s_;
  std::unique_ptr<sql::Connection> db_;  // the worker thread's only
};

}  // namespace

std::unique_ptr<Connector> make_sql_write(const ConnectorSettings& cs) {
  const auto& v = cs.settings;
  Settings s;
  s.db = sql::endpoint_of(cs);
  const auto& st = v["statements"];
  for (rapidjson::SizeType i = 0; i < st.Size(); ++i) {
    std::string text = st[i].GetString();
    for (const auto& name : sql::placeholder_names(text)) {
      bool known = false;
      for (const char* k : kPlaceholders) known = known || name == k;
      if (!known)
        throw ConfigError(cs.file, cs.pointer + "/statements/" + std::to_string(i),
                          "unknown placeholder :" + name);
    }
    s.statements.push_back(std::move(text));
  }
  if (v.HasMember("kinds"))
    for (const auto& k : v["kinds"].GetArray()) s.kinds.emplace_back(k.GetString());
  return std::make_unique<SqlWriteConnector>(cs.id, std::move(s));
}

}  // namespace simpul::connectors
