#pragma once
// `simpul import --connector ID FILE`: migrates an export file through a file_import connector.
//
// Rows are mapped and normalized, then stored in transactions of `batch` rows; each commit
// also stores the checkpoint (byte offset and line after the last row), so an interrupted import
// resumes where the last commit left off and every good row is stored exactly once. A row that
// cannot be read, mapped or stored goes to the rejects file (line number and reason) and the
// import goes on. Importing the same file again finds every record by its ref and changes
// nothing. A dry run stores nothing: each batch is rolled back instead of committed.
// Blocking; runs in the CLI, beside a running node if need be (SQLite serializes the writers).

#include <cstdint>
#include <functional>
#include <string>

#include "core/config.hpp"

namespace simpul {

struct ImportOptions {
  std::string connector_id;
  std::string file;
  std::string rejects_file;  // default: FILE.rejects.csv
  bool dry_run = false;
  bool restart = false;  // ignore the checkpoint: read the whole file again (known rows: unchanged)
  int batch = 500;
  bool progress_bar = false;  // a terminal: one redrawn line; otherwise a line every few seconds
  std::function<void(const std::string&)> progress;  // where progress text goes (stderr)
  std::function<int()> columns;                      // the terminal's width (the bar fits it)
  // Polled after each committed batch: true stops there (Ctrl-C); the report says where.
  std::function<bool()> interrupted;
};

struct ImportReport {
  std::int64_t rows = 0, created = 0, updated = 0, unchanged = 0, rejected = 0;
  std::int64_t resumed_after_line = 0;      // 0: started from the beginning
  std::int64_t interrupted_after_line = 0;  // stopped (Ctrl-C) after this line; 0: ran to the end
  double seconds = 0;
};

// Throws ConfigError (unknown connector, not a file_import) or std::runtime_error (the file
// cannot be read, the store fails).
ImportReport run_import(const Config& cfg, const ImportOptions& opt);

// `simpul renormalize --connector ID`: runs the connector's current mapping over the latest raw
// payload of every complaint it brought in and stores `amended` events (and missing status
// events) only where the result really differs. `report` gets one line per changed complaint
// (its id and the changed fields); a dry run rolls everything back.
struct RenormalizeReport {
  std::int64_t complaints = 0, changed = 0, failed = 0;
};
RenormalizeReport run_renormalize(const Config& cfg, const std::string& connector_id, bool dry_run,
                                  const std::function<void(const std::string&)>& report);

}  // namespace simpul
