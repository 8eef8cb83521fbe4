#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/json.hpp"
#include "core/systemd.hpp"
#include "simpul/time.hpp"

namespace simpul::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mu;
std::function<void(std::string_view)> g_sink;

const char* name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }

bool parse_level(std::string_view s, Level& out) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
    if (s == name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_mu);
  g_sink = std::move(sink);
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("ts");
  std::string ts = format_utc(system_now_ms());
  w.String(ts.c_str());
  w.Key("level");
  w.String(name(level));
  w.Key("msg");
  w.String(msg.data(), static_cast<rapidjson::SizeType>(msg.size()));
  for (const auto& f : fields) {
    w.Key(f.key.data(), static_cast<rapidjson::SizeType>(f.key.size()));
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>)
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
          else if constexpr (std::is_same_v<T, std::int64_t>)
            w.Int64(v);
          else if constexpr (std::is_same_v<T, double>)
            w.Double(v);
          else
            w.Bool(v);
        },
        f.value);
  }
  w.EndObject();
  std::lock_guard lock(g_mu);
  if (g_sink) {
    g_sink(std::string_view(buf.GetString(), buf.GetSize()));
  } else {
    // Under systemd, the journal reads a line's priority from a <N> prefix (sd-daemon(3)):
    // error 3, warn 4, info 6, debug 7.
    static const bool journal = systemd::stdout_is_journal();
    if (journal)
      std::fputs(level == Level::error  ? "<3>"
                 : level == Level::warn ? "<4>"
                 : level == Level::info ? "<6>"
                                        : "<7>",
                 stdout);
    std::fwrite(buf.GetString(), 1, buf.GetSize(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
}

}  // namespace simpul::log
