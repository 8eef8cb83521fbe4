#include "node/importer.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "core/crypto.hpp"
#include "intake/intake.hpp"
#include "intake/registry.hpp"
#include "node/store_setup.hpp"
#include "simpul/cursor.hpp"
#include "store/store.hpp"

namespace simpul {
namespace {

constexpr int kCheckpointFormat = 1;  // an import checkpoint: "<byte offset>:<line>"

// A file is identified by its size and the hash of its first 64 KiB: the same export renamed
// resumes, a different one starts over.
std::string file_identity(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  in.clear();
  in.seekg(0, std::ios::end);
  return std::to_string(static_cast<long long>(in.tellg())) + ":" +
         crypto::sha256_hex(head).substr(0, 32);
}

std::string csv_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

struct Reject {
  std::int64_t line;
  std::string source_id, reason;
};

// Keeps the rejects file consistent with the checkpoint: on resume, entries at or after the
// resume line (written before a crash, for rows that will be read again) are dropped.
class RejectsFile {
 public:
  RejectsFile(const std::string& path, std::int64_t resume_line) : path_(path) {
    std::vector<std::string> keep;
    if (resume_line > 0) {
      std::ifstream in(path);
      std::string line;
      while (std::getline(in, line)) {
        if (line.rfind("line,", 0) == 0) continue;
        if (std::strtoll(line.c_str(), nullptr, 10) < resume_line) keep.push_back(line);
      }
    }
    out_.open(path, std::ios::trunc);
    if (!out_) throw std::runtime_error("cannot write the rejects file " + path);
    out_ << "line,source_id,reason\n";
    for (const auto& l : keep) out_ << l << "\n";
    out_.flush();
  }
  void write(const std::vector<Reject>& rejects) {
    for (const auto& r : rejects)
      out_ << r.line << "," << csv_quote(r.source_id) << "," << csv_quote(r.reason) << "\n";
    out_.flush();
  }

 private:
  std::string path_;
  std::ofstream out_;
};

// One batch of rows on its way from the reader thread to the writer.
struct ImportBatch {
  std::vector<std::pair<std::int64_t, PreparedRecord>> records;  // (line, record)
  std::vector<Reject> bad;
  std::int64_t rows = 0, end_offset = 0, end_line = 0;  // the checkpoint after this batch
  bool last = false;
};

// A bounded hand-over between the two stages. close(): the writer is done or gave up; the
// reader stops at its next push. fail(): the reader gave up; the writer stores what was handed
// over, then pop answers nothing.
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}
  bool push(ImportBatch b) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(b));
    ready_.notify_one();
    return true;
  }
  std::optional<ImportBatch> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return closed_ || finished_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    ImportBatch b = std::move(items_.front());
    items_.pop_front();
    space_.notify_one();
    return b;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    items_.clear();
    space_.notify_all();
    ready_.notify_all();
  }
  void fail() {
    std::lock_guard lock(mutex_);
    finished_ = true;
    ready_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable space_, ready_;
  std::deque<ImportBatch> items_;
  bool closed_ = false, finished_ = false;
};

std::string reason_of(const Problem& p) {
  std::string out = p.detail;
  if (!p.pointer.empty()) out = p.pointer + ": " + out;
  return out;
}

}  // namespace

ImportReport run_import(const Config& cfg, const ImportOptions& opt) {
  auto slots = build_connectors(cfg);
  ConnectorSlot* slot = nullptr;
  for (auto& s : slots)
    if (s.config->id == opt.connector_id) slot = &s;
  if (!slot) throw ConfigError(cfg.file, "/connectors", "no connector with id " + opt.connector_id);
  if (!slot->connector->imports_files())
    throw ConfigError(cfg.file, slot->config->pointer + "/type",
                      opt.connector_id + " is not a file_import connector");

  auto store_ptr = open_node_store(cfg, StoreUse::admin);
  Store& store = *store_ptr;
  Ledger ledger(store, ledger_rules(cfg, slots));

  const std::string checkpoint = "import." + opt.connector_id + "." + file_identity(opt.file);
  std::int64_t offset = 0, line = 0;
  if (!opt.dry_run && !opt.restart) {
    // "<byte offset>:<line>" just after the last committed row; format 1 behind "v1:".
    std::string saved =
        cursor_body(store.cursor(checkpoint), kCheckpointFormat, "import checkpoint");
    if (!saved.empty())
      std::sscanf(saved.c_str(), "%lld:%lld", reinterpret_cast<long long*>(&offset),
                  reinterpret_cast<long long*>(&line));
  }
  ImportReport report;
  report.resumed_after_line = offset > 0 ? line : 0;
  RejectsFile rejects(opt.rejects_file.empty() ? opt.file + ".rejects.csv" : opt.rejects_file,
                      offset > 0 ? line + 1 : 0);
  auto reader = slot->connector->open_file(opt.file, offset, line);

  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  const std::int64_t total = reader->size();
  std::int64_t position = offset;
  auto show = [&](bool final) {
    if (!opt.progress) return;
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - started).count();
    if (!final && !opt.progress_bar && now - last_report < std::chrono::seconds(5)) return;
    if (!final && opt.progress_bar && now - last_report < std::chrono::milliseconds(200)) return;
    last_report = now;
    double done = total > 0 ? static_cast<double>(position) / static_cast<double>(total) : 1.0;
    double rate = elapsed > 0 ? static_cast<double>(report.rows) / elapsed : 0;
    double read_rate = elapsed > 0 ? static_cast<double>(position - offset) / elapsed : 0;
    double eta = read_rate > 0 ? static_cast<double>(total - position) / read_rate : 0;
    char text[512];
    if (opt.progress_bar) {
      // One line that fits the terminal (a line longer than the terminal wraps, and the next
      // \r redraws only its second half), cleared to its end (a shorter redraw leaves nothing
      // of the longer one behind): the figures first, the bar in what is left.
      char figures[160];
      std::snprintf(figures, sizeof figures,
                    " %3.0f%%  %lld rows  %.0f/s  ETA %.0f s  %lld rejected", done * 100,
                    static_cast<long long>(report.rows), rate, eta,
                    static_cast<long long>(report.rejected));
      const int columns = opt.columns ? opt.columns() : 80;
      std::string line(figures);
      const int room = columns - 1 - static_cast<int>(line.size()) - 2;
      if (room >= 10) {
        const int width = std::min(room, 40), filled = static_cast<int>(done * width);
        line = "[" + std::string(static_cast<std::size_t>(filled), '#') +
               std::string(static_cast<std::size_t>(width - filled), ' ') + "]" + line;
      } else if (static_cast<int>(line.size()) > columns - 1) {
        line.resize(static_cast<std::size_t>(std::max(columns - 1, 0)));
      }
      std::snprintf(text, sizeof text, "\r%s\x1b[K%s", line.c_str(), final ? "\n" : "");
    } else {
      std::snprintf(text, sizeof text,
                    "import: %3.0f%% (%lld rows, %.0f rows/s, ETA %.0f s, %lld rejected)\n",
                    done * 100, static_cast<long long>(report.rows), rate, eta,
                    static_cast<long long>(report.rejected));
    }
    opt.progress(text);
  };

  // Two stages: a reader thread reads, maps and normalizes rows into batches; this thread stores
  // them. A few batches may wait between the two (bounded, so memory stays flat); whatever the
  // reader throws is rethrown here, and a store failure stops the reader.
  BatchQueue queue(3);
  std::exception_ptr reader_failure;
  std::thread producer([&] {
    try {
      NormalizeOptions norm{cfg.node.zone, cfg.node.region, 0};
      std::int64_t end = position, end_line = line;
      for (;;) {
        ImportBatch b;
        b.end_offset = end;
        b.end_line = end_line;
        while (static_cast<int>(b.records.size() + b.bad.size()) < opt.batch) {
          auto row = reader->next();
          if (!row) {
            b.last = true;
            break;
          }
          ++b.rows;
          b.end_offset = row->end_offset;
          b.end_line = row->line;
          if (!row->error.empty()) {
            b.bad.push_back({row->line, "", row->error});
            continue;
          }
          norm.now = system_now_ms();
          // The app's id, read before the record is mapped: a row refused for its date or its
          // region is still named by the id the app knows it by.
          std::string source_id =
              row->record.empty() ? std::string() : slot->mapping->id_of(row->record.value());
          auto rec = prepare_record(*slot->mapping, std::move(row->record), norm);
          if (!rec) {
            b.bad.push_back({row->line, std::move(source_id), reason_of(rec.error())});
            continue;
          }
          b.records.emplace_back(row->line, std::move(*rec));
        }
        end = b.end_offset;
        end_line = b.end_line;
        const bool last = b.last;
        if (!queue.push(std::move(b)) || last) return;
      }
    } catch (...) {
      reader_failure = std::current_exception();
      queue.fail();
    }
  });
  struct JoinReader {
    BatchQueue& queue;
    std::thread& thread;
    ~JoinReader() {
      queue.close();
      thread.join();
    }
  } join_reader{queue, producer};

  for (;;) {
    auto next = queue.pop();
    if (!next) {
      if (reader_failure) std::rethrow_exception(reader_failure);
      break;
    }
    ImportBatch& b = *next;
    report.rows += b.rows;
    auto& bad = b.bad;
    if (!b.records.empty() || !bad.empty()) {
      TimeMs now = system_now_ms();
      store.begin();
      try {
        for (const auto& [row_line, rec] : b.records) {
          auto o = store_record(ledger, *slot->mapping, rec, opt.connector_id, cfg.node.id, now);
          if (o.outcome == IntakeResult::created)
            ++report.created;
          else if (o.outcome == IntakeResult::updated)
            ++report.updated;
          else if (o.outcome == IntakeResult::unchanged)
            ++report.unchanged;
          else
            bad.push_back({row_line, o.source_id, reason_of(o.problem)});
        }
        std::sort(bad.begin(), bad.end(),
                  [](const Reject& x, const Reject& y) { return x.line < y.line; });
        if (opt.dry_run) {
          store.rollback();
        } else {
          // Before the commit: a crash after it never loses a reject; one before it is undone on
          // resume (RejectsFile drops entries at or after the checkpoint).
          rejects.write(bad);
          store.set_cursor(checkpoint,
                           cursor_text(kCheckpointFormat, std::to_string(b.end_offset) + ":" +
                                                              std::to_string(b.end_line)),
                           now);
          store.commit();
        }
      } catch (...) {
        if (store.in_transaction()) store.rollback();
        throw;
      }
      if (opt.dry_run) rejects.write(bad);
      report.rejected += static_cast<std::int64_t>(bad.size());
    }
    position = b.end_offset;
    line = b.end_line;
    if (b.last) break;
    // Ctrl-C: stop after the batch just committed, where a rerun resumes.
    if (opt.interrupted && opt.interrupted()) {
      report.interrupted_after_line = line;
      break;
    }
    show(false);
  }
  if (report.interrupted_after_line > 0) {
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (opt.progress_bar && opt.progress) opt.progress("\n");
    return report;
  }
  position = total;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  show(true);
  return report;
}

RenormalizeReport run_renormalize(const Config& cfg, const std::string& connector_id, bool dry_run,
                                  const std::function<void(const std::string&)>& report) {
  auto slots = build_connectors(cfg);
  ConnectorSlot* slot = nullptr;
  for (auto& s : slots)
    if (s.config->id == connector_id) slot = &s;
  if (!slot) throw ConfigError(cfg.file, "/connectors", "no connector with id " + connector_id);
  if (!slot->mapping)
    throw ConfigError(cfg.file, slot->config->pointer, connector_id + " has no mapping");
  auto store_ptr = open_node_store(cfg, StoreUse::admin);
  Store& store = *store_ptr;
  Ledger ledger(store, ledger_rules(cfg, slots));
  RenormalizeReport out;
  const TimeMs now = system_now_ms();
  NormalizeOptions norm{cfg.node.zone, cfg.node.region, now};
  store.begin();
  try {
    for (const auto& [complaint_id, raw] : store.latest_raw_payloads(connector_id)) {
      ++out.complaints;
      auto rec = prepare_record(*slot->mapping, raw, norm);
      if (!rec) {
        ++out.failed;
        report(complaint_id +
               ": the current mapping refuses its payload: " + reason_of(rec.error()));
        continue;
      }
      auto o = store_record(ledger, *slot->mapping, *rec, connector_id, cfg.node.id, now);
      if (o.outcome == IntakeResult::rejected) {
        ++out.failed;
        report(complaint_id + ": " + reason_of(o.problem));
      } else if (o.outcome == IntakeResult::updated) {
        ++out.changed;
        std::string line = complaint_id + ":";
        if (!o.amended.empty()) line += " amended " + o.amended;
        for (auto k : o.advanced) line += " +" + std::string(to_string(k));
        report(line);
      }
    }
    if (dry_run)
      store.rollback();
    else
      store.commit();
  } catch (...) {
    if (store.in_transaction()) store.rollback();
    throw;
  }
  return out;
}

}  // namespace simpul
