#include "connectors/runtime.hpp"

#include "connectors/intake.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"

namespace simpul {

using http::problem;

ConnectorRuntime::ConnectorRuntime(const Config& cfg, CommitQueue& writer, http::Metrics& metrics,
                                   std::function<TimeMs()> clock)
    : cfg_(cfg), writer_(writer), metrics_(metrics), clock_(std::move(clock)), slots_(build_connectors(cfg)) {
  metrics_.describe("simpul_connector_records_total", "counter",
                    "Source records a connector delivered, by outcome (created, updated, unchanged, rejected).");
  for (auto& slot : slots_) {
    auto* c = slot.connector.get();
    auto label = http::Metrics::labels({{"connector", slot.config->id}});
    metrics_.gauge("simpul_connector_health" + label, "Connector health: 0 ok, 1 degraded, 2 failing.",
                   [c] { return static_cast<double>(static_cast<int>(c->health().state)); });
  }
}

void ConnectorRuntime::report_to(http::Api& api) {
  for (auto& slot : slots_) {
    auto* c = slot.connector.get();
    api.add_readiness("connector:" + slot.config->id, [c] {
      auto h = c->health();
      return std::make_pair(std::string(to_string(h.state)), h.last_error);
    });
  }
}

void ConnectorRuntime::add_routes(http::Router& r) {
  r.add("POST", "/v1/ingest/{connector}", [this](const http::Request& req, const http::Params& p, http::Reply reply) {
    for (auto& slot : slots_) {
      if (slot.config->id == p.get("connector") && slot.connector->accepts_webhooks()) {
        ingest_webhook(req, slot, std::move(reply));
        return;
      }
    }
    reply(problem(404, "not-found", "Not found", "no webhook connector with this id"));
  });
}

void ConnectorRuntime::ingest_webhook(const http::Request& req, ConnectorSlot& slot, http::Reply reply) {
  const std::string id = slot.config->id;
  TimeMs now = clock_();
  auto refuse = [&](const Problem& p, const char* what) {
    metrics_.add("simpul_connector_records_total", http::Metrics::labels({{"connector", id}, {"outcome", "rejected"}}));
    log::info("connector.rejected", {{"connector", id}, {"reason", what}, {"pointer", p.pointer}, {"rule", p.rule}});
    reply(http::problem_of(p));
  };
  WebhookRequest wr;
  for (const auto& h : req.headers) wr.headers.emplace_back(h.name, h.value);
  wr.body = req.body;
  wr.now = now;
  auto batch = slot.connector->accept_webhook(wr);
  if (!batch) {
    refuse(batch.error(), "delivery");
    return;
  }
  // Map and normalize everything first: a delivery with one bad record stores nothing.
  auto prepared = std::make_shared<std::vector<PreparedRecord>>();
  NormalizeOptions opt{cfg_.node.zone, cfg_.node.region, now};
  for (std::size_t i = 0; i < batch->records.size(); ++i) {
    auto rec = prepare_record(*slot.mapping, batch->records[i], opt);
    if (!rec) {
      Problem p = rec.error();
      if (batch->records.size() > 1) p.detail = "record " + std::to_string(i) + ": " + p.detail;
      refuse(p, "record");
      return;
    }
    prepared->push_back(std::move(*rec));
  }
  struct Answer {
    int status = 200;
    std::string body;
    std::vector<IntakeOutcome> outcomes;
    bool replayed = false;
  };
  auto answer = std::make_shared<Answer>();
  const std::string scope = "connector:" + id;
  const std::string key = crypto::sha256_hex(req.body);
  const Mapping* mapping = &*slot.mapping;
  const std::string node = cfg_.node.id;
  writer_.submit(
      [=](Store& s) {
        if (auto stored = s.recall_answer(scope, key)) {
          answer->status = stored->status;
          answer->body = stored->body;
          answer->replayed = true;
          return;
        }
        s.savepoint("delivery");
        for (const auto& rec : *prepared) {
          auto o = store_record(s, *mapping, rec, id, node, now);
          answer->outcomes.push_back(o);
          if (o.outcome == "rejected") {
            s.rollback_to("delivery");
            s.release("delivery");
            answer->status = http_status(o.problem.code);
            return;
          }
        }
        rapidjson::StringBuffer buf;
        json::Writer w(buf);
        w.StartObject();
        w.Key("results");
        w.StartArray();
        for (const auto& o : answer->outcomes) {
          w.StartObject();
          w.Key("source_id");
          w.String(o.source_id.c_str());
          w.Key("complaint_id");
          w.String(o.complaint_id.c_str());
          w.Key("outcome");
          w.String(o.outcome.c_str());
          w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        answer->body.assign(buf.GetString(), buf.GetSize());
        s.remember_answer(scope, key, key, 200, "", answer->body, now);
        s.release("delivery");
      },
      [this, answer, id, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          reply(problem(http_status(e), code_name(e), "Not stored",
                        std::string(make_error_code(e).message()) + "; nothing was stored, retry later"));
          return;
        }
        if (answer->status != 200) {
          const auto& o = answer->outcomes.back();
          metrics_.add("simpul_connector_records_total", http::Metrics::labels({{"connector", id}, {"outcome", "rejected"}}));
          log::info("connector.rejected", {{"connector", id}, {"source_id", o.source_id}, {"reason", o.problem.detail}});
          reply(http::problem_of(o.problem));
          return;
        }
        for (const auto& o : answer->outcomes) {
          metrics_.add("simpul_connector_records_total", http::Metrics::labels({{"connector", id}, {"outcome", o.outcome}}));
          log::info("connector.record", {{"connector", id}, {"complaint_id", o.complaint_id}, {"outcome", o.outcome}});
        }
        http::Response res;
        res.status = 200;
        res.body = answer->body;
        reply(std::move(res));
      });
}

}  // namespace simpul
