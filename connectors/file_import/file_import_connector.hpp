#pragma once
// `file_import` (inbound, migration): reads CSV (via libcsv: RFC 4180 quoting, quoted newlines,
// CRLF, a UTF-8 BOM) or JSON Lines exports row by row for `simpul import`. A CSV row becomes a
// JSON object keyed by column name, so the mapping reads "/judul"; a JSON Lines row is used as
// it is. A row that cannot be read (bad quoting, wrong column count, not a JSON object) comes
// back with its error and the import goes on with the next one. See README.md next to this file.

#include <memory>

#include "simpul/connector.hpp"

namespace simpul::connectors {

std::unique_ptr<Connector> make_file_import(const ConnectorSettings& s);

}  // namespace simpul::connectors
