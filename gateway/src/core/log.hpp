#pragma once
// Structured logs: one JSON object per line on stdout.
// Contract: callers pass ids, counts, codes and routes, never a reporter's identity, a token,
// or a request body. Thread-safe: lines from different threads never interleave.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace simpul::log {

enum class Level { debug, info, warn, error };

struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, std::size_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
};

void set_level(Level level);
bool parse_level(std::string_view s, Level& out);
// Replaces stdout as the destination (tests capture lines with it); nullptr restores stdout.
void set_sink(std::function<void(std::string_view line)> sink);

void write(Level level, std::string_view msg, std::initializer_list<Field> fields);
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::error, m, f);
}

}  // namespace simpul::log
