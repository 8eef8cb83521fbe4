#include "file_import/file_import_connector.hpp"

#include <csv.h>

#include <fstream>
#include <stdexcept>

#include "simpul/json.hpp"

namespace simpul::connectors {
namespace {

// Reads lines (keeping their terminators) and tracks byte offsets and line numbers.
class LineSource {
 public:
  LineSource(const std::string& path, std::int64_t offset, std::int64_t line)
      : in_(path, std::ios::binary), line_(line) {
    if (!in_) throw std::runtime_error("cannot open " + path);
    in_.seekg(0, std::ios::end);
    size_ = static_cast<std::int64_t>(in_.tellg());
    in_.seekg(offset);
    offset_ = offset;
    if (offset == 0) {  // a UTF-8 byte order mark is not data
      char bom[3] = {0, 0, 0};
      in_.read(bom, 3);
      if (in_.gcount() == 3 && bom[0] == '\xEF' && bom[1] == '\xBB' && bom[2] == '\xBF')
        offset_ = 3;
      in_.clear();
      in_.seekg(offset_);
    }
  }
  // The next line with its '\n' (if any); false at the end.
  bool next(std::string& out) {
    out.clear();
    if (!std::getline(in_, out)) return false;
    if (!in_.eof()) out += '\n';
    offset_ += static_cast<std::int64_t>(out.size());
    ++line_;
    return true;
  }
  std::int64_t offset() const { return offset_; }
  std::int64_t line() const { return line_; }
  std::int64_t size() const { return size_; }

 private:
  std::ifstream in_;
  std::int64_t offset_ = 0;
  std::int64_t line_ = 0;  // lines consumed so far
  std::int64_t size_ = 0;
};

class JsonLinesReader final : public RowReader {
 public:
  JsonLinesReader(const std::string& path, std::int64_t offset, std::int64_t line)
      : src_(path, offset, line) {}
  std::optional<SourceRow> next() override {
    std::string text;
    while (src_.next(text)) {
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      if (text.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
      SourceRow row;
      row.line = src_.line();
      row.end_offset = src_.offset();
      auto rec = SourceRecord::parse(std::move(text));
      if (rec)
        row.record = std::move(*rec);
      else if (rec.error().rule == "type")
        row.error = "a row must be a JSON object";
      else
        row.error = "not JSON: " + rec.error().detail;
      return row;
    }
    return std::nullopt;
  }
  std::int64_t size() const override { return src_.size(); }

 private:
  LineSource src_;
};

class CsvReader final : public RowReader {
 public:
  CsvReader(const std::string& path, std::int64_t offset, std::int64_t line, char delimiter,
            std::vector<std::string> columns)
      : src_(path, offset, line), delimiter_(delimiter), columns_(std::move(columns)) {
    reset_parser();
    // Resuming past the header: the caller's checkpoint is after it, so read it again here.
    if (offset > 0 && columns_.empty()) {
      LineSource head(path, 0, 0);
      std::string text;
      while (columns_.empty() && head.next(text)) {
        feed(text);
        if (!rows_.empty()) {
          columns_ = rows_.front().fields;
          rows_.clear();
        }
      }
    }
  }
  ~CsvReader() override { csv_free(&parser_); }

  std::optional<SourceRow> next() override {
    for (;;) {
      while (!rows_.empty()) {
        Parsed p = std::move(rows_.front());
        rows_.erase(rows_.begin());
        if (columns_.empty() && p.error.empty()) {  // the header row
          columns_ = std::move(p.fields);
          continue;
        }
        SourceRow row;
        row.line = p.line;
        row.end_offset = p.end_offset;
        if (!p.error.empty())
          row.error = p.error;
        else if (p.fields.size() != columns_.size())
          row.error = "expected " + std::to_string(columns_.size()) + " columns, found " +
                      std::to_string(p.fields.size());
        else if (auto rec = SourceRecord::parse(to_json(p.fields)))
          row.record = std::move(*rec);
        else
          row.error = "not a record: " + rec.error().detail;
        return row;
      }
      std::string text;
      if (!src_.next(text)) {
        if (finished_) return std::nullopt;
        finished_ = true;
        // Ends a last row that has no line break after it.
        csv_fini(&parser_, &CsvReader::on_field, &CsvReader::on_row, this);
        in_row_ = false;
        continue;
      }
      if (!in_row_) row_line_ = src_.line();
      feed(text);
    }
  }
  std::int64_t size() const override { return src_.size(); }

 private:
  struct Parsed {
    std::int64_t line = 0, end_offset = 0;
    std::vector<std::string> fields;
    std::string error;
  };

  void reset_parser() {
    if (csv_init(&parser_, CSV_STRICT | CSV_APPEND_NULL) != 0)
      throw std::runtime_error("csv_init failed");
    csv_set_delim(&parser_, static_cast<unsigned char>(delimiter_));
    fields_.clear();
    in_row_ = false;
  }

  void feed(const std::string& text) {
    if (text.empty()) return;
    std::size_t used = csv_parse(&parser_, text.data(), text.size(), &CsvReader::on_field,
                                 &CsvReader::on_row, this);
    if (used != text.size()) {
      // Bad quoting: this row is rejected; parsing restarts at the next line.
      Parsed p;
      p.line = row_line_;
      p.end_offset = src_.offset();
      p.error = std::string("malformed CSV: ") + csv_strerror(csv_error(&parser_));
      rows_.push_back(std::move(p));
      csv_free(&parser_);
      reset_parser();
      return;
    }
    // A line that ended a row leaves libcsv between rows (its state 0, ROW_NOT_BEGUN); inside
    // a quoted field the row goes on with the next line.
    in_row_ = parser_.pstate != 0;
  }

  void close_row() {
    Parsed p;
    p.line = row_line_;
    p.end_offset = src_.offset();
    p.fields = std::move(fields_);
    fields_.clear();
    rows_.push_back(std::move(p));
  }

  static void on_field(void* data, std::size_t len, void* self) {
    static_cast<CsvReader*>(self)->fields_.emplace_back(static_cast<const char*>(data), len);
  }
  static void on_row(int, void* self) { static_cast<CsvReader*>(self)->close_row(); }

  std::string to_json(const std::vector<std::string>& fields) const {
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    for (std::size_t i = 0; i < fields.size(); ++i) {
      w.Key(columns_[i].c_str(), static_cast<rapidjson::SizeType>(columns_[i].size()));
      w.String(fields[i].c_str(), static_cast<rapidjson::SizeType>(fields[i].size()));
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }

  LineSource src_;
  char delimiter_;
  std::vector<std::string> columns_;
  csv_parser parser_{};
  std::vector<std::string> fields_;
  bool in_row_ = false;
  bool finished_ = false;
  std::int64_t row_line_ = 1;
  std::vector<Parsed> rows_;
};

class FileImportConnector final : public Connector {
 public:
  FileImportConnector(std::string id, bool csv, char delimiter, std::vector<std::string> columns)
      : Connector(std::move(id)), csv_(csv), delimiter_(delimiter), columns_(std::move(columns)) {}
  bool imports_files() const override { return true; }
  std::unique_ptr<RowReader> open_file(const std::string& path, std::int64_t offset,
                                       std::int64_t line) override {
    if (csv_) return std::make_unique<CsvReader>(path, offset, line, delimiter_, columns_);
    return std::make_unique<JsonLinesReader>(path, offset, line);
  }

 private:
  bool csv_;
  char delimiter_;
  std::vector<std::string> columns_;
};

}  // namespace

std::unique_ptr<Connector> make_file_import(const ConnectorSettings& s) {
  const auto& v = s.settings;
  bool csv = json::get_string(v, "format") == "csv";
  std::string delim = json::get_string(v, "delimiter", ",");
  if (!csv && (v.HasMember("delimiter") || v.HasMember("columns")))
    throw ConfigError(s.file, s.pointer + "/format", "delimiter and columns apply to CSV only");
  if (delim == "\"" || delim == "\n" || delim == "\r")
    throw ConfigError(s.file, s.pointer + "/delimiter",
                      "the delimiter cannot be a quote or a line break");
  std::vector<std::string> columns;
  if (v.HasMember("columns"))
    for (const auto& c : v["columns"].GetArray()) columns.emplace_back(c.GetString());
  return std::make_unique<FileImportConnector>(s.id, csv, delim[0], std::move(columns));
}

}  // namespace simpul::connectors
