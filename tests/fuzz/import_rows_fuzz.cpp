// Export-file rows for `simpul import`: the first byte picks the reader (CSV with ",", CSV with
// ";", JSON Lines), the rest is the file. Every row is read (a record or a row error, line and
// offset moving forward) and each record goes through the mapping and intake; then the file is
// read again from every row's end offset, as a resumed import does.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "intake/intake.hpp"

using namespace simpul;

namespace {

const std::string& scratch() {
  static const std::string path = "/tmp/simpul-fuzz-import-" + std::to_string(getpid());
  return path;
}

// Reads every row from `offset`; checks lines and offsets only move forward.
std::vector<std::int64_t> read_all(Connector& c, std::int64_t offset, std::int64_t line,
                                   std::size_t size, const Mapping* mapping) {
  std::vector<std::int64_t> ends;
  auto reader = c.open_file(scratch(), offset, line);
  if (!reader) std::abort();
  std::int64_t last_end = offset, last_line = line;
  NormalizeOptions opt;
  opt.default_region = "21.71";
  opt.now = 1'796'000'000'000;  // after every date in the seeds: later ones are refused as future
  for (int rows = 0; rows < 10'000; ++rows) {
    std::optional<SourceRow> row;
    try {
      row = reader->next();
    } catch (const std::runtime_error&) {
      break;  // the file as a whole cannot be read: reported, never a crash
    }
    if (!row) break;
    if (row->end_offset < last_end || row->end_offset > static_cast<std::int64_t>(size) ||
        row->line < last_line)
      std::abort();
    if (row->error.empty() == row->record.empty()) std::abort();  // exactly one of them
    last_end = row->end_offset;
    last_line = row->line;
    ends.push_back(row->end_offset);
    if (mapping && !row->record.empty()) (void)prepare_record(*mapping, row->record, opt);
  }
  return ends;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* const kinds[] = {"csv", "csv-semicolon", "jsonl"};
  auto& slot = fuzz::node().slot(kinds[data[0] % 3]);
  FILE* f = std::fopen(scratch().c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  auto ends = read_all(*slot.connector, 0, 0, size - 1, &*slot.mapping);
  // Resume from a few checkpoints (every row end would be quadratic on big inputs).
  for (std::size_t i = 0; i < ends.size() && i < 8; ++i)
    (void)read_all(*slot.connector, ends[i], 0, size - 1, nullptr);
  return 0;
}
