// bench/sql: a steady sql_poll cycle costs the same over 1,000,000 rows as over 10,000.
//
// Starts a throwaway MariaDB (tests/support/db_servers), fills an Ape Kesah-like `aduan` table
// with 10,000 rows one second apart and an index on (diperbarui, id), and reads it to the end
// with the real sql_poll connector (its worker-thread work run inline). Then times a steady
// cycle (the clock query and the page query over the last lookback_s, no new rows), median of
// 50, at 10,000 rows; adds 990,000 older rows and times it again at 1,000,000. Same-run
// reference: the same cycle with the change time as COALESCE(diperbarui, dibuat), which no plain
// index serves, at 1,000,000. Target: the cycle at 1M within 2x of the cycle at 10k. Never part
// of `make test`.
//
//   sql_poll_bench [--rows N]

#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "db_servers.hpp"
#include "simpul/connector.hpp"
#include "support/report.hpp"

namespace b = simpul::bench;
namespace sql = simpul::connectors::sql;
using Clock = std::chrono::steady_clock;
using namespace simpul;

namespace {

// A context that runs the connector's blocking work inline (the bench's one thread).
class InlineContext final : public ConnectorContext {
 public:
  const std::string& connector_id() const override { return id_; }
  TimeMs now() const override { return system_now_ms(); }
  void after(int, std::function<void()> fn) override { fn(); }
  void fetch(FetchRequest, std::function<void(Result<FetchResponse>)> done) override {
    done(make_problem(errc::unavailable, "", "fetch", "no HTTP here"));
  }
  void log_info(std::string_view, std::string_view) override {}
  void log_warn(std::string_view, std::string_view) override {}
  void count(std::string_view, double) override {}

 protected:
  void run_blocking(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }

 private:
  std::string id_ = "bench";
};

std::unique_ptr<Connector> make(const std::string& socket, bool coalesce) {
  rapidjson::Document d;
  std::string settings = R"({"driver": "mariadb", "socket": ")" + socket +
                         R"(", "database": "legacy", "user": "root", "table": "aduan", "key": "id",
      "updated": )" + (coalesce ? R"(["diperbarui", "dibuat"])" : R"("diperbarui")") +
                         R"(, "page_size": 500, "lookback_s": 300, "delay_s": 0})";
  d.Parse(settings.c_str());
  ConnectorSettings cs{"bench", d, "bench", "/settings",
                       [](const std::string&, const std::string&) { return std::string(); }};
  return find_connector_type("sql_poll")->create(cs);
}

// Reads to the end; the cursor there. Rows read, through `rows`.
std::string read_to_end(Connector& c, std::size_t& rows) {
  std::string cursor;
  for (;;) {
    Result<InboundBatch> got = make_problem(errc::unavailable, "", "x", "no answer");
    c.poll(cursor, [&](Result<InboundBatch> r) { got = std::move(r); });
    if (!got) {
      std::fprintf(stderr, "sql_poll_bench: %s\n", got.error().detail.c_str());
      std::exit(1);
    }
    rows += got->records.size();
    cursor = got->cursor;
    if (!got->more) return cursor;
  }
}

// Median milliseconds of `runs` steady cycles from `cursor`.
double cycle_ms(Connector& c, const std::string& cursor, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    c.poll(cursor, [](Result<InboundBatch> r) {
      if (!r) std::exit(1);
    });
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  b::set_command(argc, argv);
  long long rows = 1'000'000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--rows") rows = std::atoll(argv[i + 1]);
  const long long small = 10'000;
  char tmpl[] = "/tmp/simpul-sqlbench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    auto db = dbserver::start_mariadb(dir);
    auto app = db->admin();
    app->execute(
        "CREATE TABLE aduan (id INT AUTO_INCREMENT PRIMARY KEY, judul VARCHAR(200), uraian TEXT, "
        "status SMALLINT NOT NULL DEFAULT 1, dibuat DATETIME NOT NULL, diperbarui DATETIME(6), "
        "INDEX aduan_diperbarui (diperbarui, id))",
        {});
    // 10,000 rows one second apart, the newest a day ago.
    auto t0 = Clock::now();
    app->execute(
        "INSERT INTO aduan (judul, uraian, dibuat, diperbarui) SELECT CONCAT('Aduan ', seq), "
        "'Uraian', NOW() - INTERVAL 1 DAY - INTERVAL (" +
            std::to_string(small) + " - seq) SECOND, NOW() - INTERVAL 1 DAY - INTERVAL (" +
            std::to_string(small) + " - seq) SECOND FROM seq_1_to_" + std::to_string(small),
        {});
    InlineContext ctx;
    auto c = make(db->socket(), false);
    c->start(ctx);
    std::size_t read = 0;
    auto l0 = Clock::now();
    const std::string cursor = read_to_end(*c, read);
    const double load_s = std::chrono::duration<double>(Clock::now() - l0).count();
    std::printf("initial read of %zu rows through the connector: %.2f s (%.0f rows/s)\n", read,
                load_s, read / load_s);
    const double at_small = cycle_ms(*c, cursor, 50);
    std::printf("steady cycle at %lld rows: %.2f ms (median of 50)\n", small, at_small);
    // Older rows, below the lookback: the table grows, the cycle's range does not.
    const long long more = rows - small;
    for (long long done = 0; done < more; done += 100'000) {
      const long long n = std::min<long long>(100'000, more - done);
      app->execute(
          "INSERT INTO aduan (judul, uraian, dibuat, diperbarui) SELECT CONCAT('Lama ', seq), "
          "'Uraian', '2025-01-01' + INTERVAL seq SECOND, '2025-01-01' + INTERVAL seq SECOND "
          "FROM seq_1_to_" +
              std::to_string(n),
          {});
    }
    std::printf("table filled to %lld rows in %.1f s\n", rows,
                std::chrono::duration<double>(Clock::now() - t0).count());
    app->execute("ANALYZE TABLE aduan", {});
    const double at_big = cycle_ms(*c, cursor, 50);
    std::printf("steady cycle at %lld rows: %.2f ms (median of 50), %.2fx the cycle at %lld\n",
                rows, at_big, at_big / at_small, small);
    auto unindexed = make(db->socket(), true);
    unindexed->start(ctx);
    // Every row has its diperbarui, so the COALESCE is the same time: the same cursor serves.
    const double reference = cycle_ms(*unindexed, cursor, 5);
    std::printf(
        "reference: the same cycle by COALESCE(diperbarui, dibuat), no index, at %lld "
        "rows: %.2f ms (median of 5)\n",
        rows, reference);
    b::record("sql_poll", "steady cycle at " + std::to_string(rows) + " rows", at_big, "ms",
              "the cycle at " + std::to_string(small) + " rows", at_small, "within 2x");
    b::record("sql_poll",
              "steady cycle without a usable index at " + std::to_string(rows) + " rows", reference,
              "ms", "the indexed cycle at the same size", at_big, "",
              "what an unindexed change time costs");
  }
  std::filesystem::remove_all(dir);
  return 0;
}
