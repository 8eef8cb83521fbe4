// file_import's readers: CSV through libcsv (BOM, CRLF, quoted delimiters and newlines, bad
// quoting, wrong column counts) and JSON Lines, with line numbers and resumable offsets.

#include <doctest/doctest.h>

#include <fstream>

#include "core/json.hpp"
#include "file_import/file_import_connector.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

std::unique_ptr<Connector> make(const std::string& settings) {
  auto doc = json::parse(settings);
  REQUIRE(doc.has_value());
  ConnectorSettings s{"arsip", *doc, "node.json", "/connectors/0/settings", nullptr};
  return connectors::make_file_import(s);
}

std::vector<SourceRow> read_all(Connector& c, const std::string& path, std::int64_t offset = 0,
                                std::int64_t line = 0) {
  auto r = c.open_file(path, offset, line);
  REQUIRE(r != nullptr);
  std::vector<SourceRow> rows;
  while (auto row = r->next()) rows.push_back(*row);
  return rows;
}

std::string field(const SourceRow& row, const char* name) {
  auto doc = json::parse(row.record.text());
  REQUIRE_MESSAGE(doc.has_value(), row.record.text());
  return json::get_string(*doc, name);
}

}  // namespace

TEST_CASE("file_import: CSV with BOM - CRLF - quoted delimiters - quotes and newlines") {
  test::TempDir dir;
  std::ofstream(dir.file("a.csv"), std::ios::binary)
      << "\xEF\xBB\xBFid;judul;uraian\r\n"
         "1;Jalan;\"Lubang \"\"besar\"\"; dalam\r\ndua baris\"\r\n"
         "2;Lampu;Gelap\r\n"
         "\r\n"
         "3;Air;\"Keruh\"";  // no line break at the end
  auto c = make(R"({"format": "csv", "delimiter": ";"})");
  auto rows = read_all(*c, dir.file("a.csv"));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].error.empty());
  CHECK(rows[0].line == 2);
  CHECK(field(rows[0], "id") == "1");  // the BOM is not part of the first column's name
  CHECK(field(rows[0], "uraian") == "Lubang \"besar\"; dalam\r\ndua baris");
  CHECK(rows[1].line == 4);
  CHECK(field(rows[1], "judul") == "Lampu");
  CHECK(rows[2].line == 6);
  CHECK(field(rows[2], "uraian") == "Keruh");
}

TEST_CASE("file_import: a bad CSV row is reported with its line and reading goes on") {
  test::TempDir dir;
  std::ofstream(dir.file("b.csv"), std::ios::binary)
      << "id,judul\n"
         "1,ok\n"
         "2,a\"b\"c\n"  // a quote inside an unquoted field
         "3,too,many\n"
         "4,fine\n";
  auto c = make(R"({"format": "csv"})");
  auto rows = read_all(*c, dir.file("b.csv"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].error.empty());
  CHECK(rows[1].line == 3);
  CHECK(rows[1].error.find("malformed CSV") != std::string::npos);
  CHECK(rows[2].line == 4);
  CHECK(rows[2].error == "expected 2 columns, found 3");
  CHECK(rows[3].error.empty());
  CHECK(field(rows[3], "judul") == "fine");
}

TEST_CASE("file_import: reading resumes from a row's end offset - header included") {
  test::TempDir dir;
  std::ofstream(dir.file("c.csv"), std::ios::binary) << "id,judul\n1,a\n2,\"b\nb\"\n3,c\n";
  auto c = make(R"({"format": "csv"})");
  auto all = read_all(*c, dir.file("c.csv"));
  REQUIRE(all.size() == 3);
  auto rest = read_all(*c, dir.file("c.csv"), all[0].end_offset, 2);
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].line == 3);
  CHECK(field(rest[0], "judul") == "b\nb");
  CHECK(rest[1].line == 5);
  CHECK(field(rest[1], "id") == "3");
}

TEST_CASE("file_import: columns for a CSV without a header row") {
  test::TempDir dir;
  std::ofstream(dir.file("d.csv"), std::ios::binary) << "1,a\n2,b\n";
  auto c = make(R"({"format": "csv", "columns": ["id", "judul"]})");
  auto rows = read_all(*c, dir.file("d.csv"));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].line == 1);
  CHECK(field(rows[1], "judul") == "b");
}

TEST_CASE("file_import: JSON Lines - blank lines skipped - bad lines reported") {
  test::TempDir dir;
  std::ofstream(dir.file("e.jsonl"), std::ios::binary)
      << "{\"id\": 1}\n\n[1,2]\n{bad\n{\"id\": 2}\r\n";
  auto c = make(R"({"format": "jsonl"})");
  auto rows = read_all(*c, dir.file("e.jsonl"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].line == 1);
  CHECK(rows[1].line == 3);
  CHECK(rows[1].error == "a row must be a JSON object");
  CHECK(rows[2].line == 4);
  CHECK(rows[2].error.rfind("not JSON", 0) == 0);
  CHECK(rows[3].line == 5);
  CHECK(field(rows[3], "id").empty());  // a number: the mapping reads it, not get_string
  CHECK(rows[3].error.empty());
}

TEST_CASE("file_import: settings that make no sense are refused with their pointer") {
  auto pointer = [](const std::string& settings) {
    try {
      make(settings);
    } catch (const ConfigError& e) {
      return e.pointer();
    }
    return std::string("accepted");
  };
  CHECK(pointer(R"({"format": "csv", "delimiter": ";"})") == "accepted");
  CHECK(pointer(R"({"format": "jsonl", "delimiter": ";"})") == "/connectors/0/settings/format");
  CHECK(pointer(R"({"format": "csv", "delimiter": "\""})") == "/connectors/0/settings/delimiter");
}
