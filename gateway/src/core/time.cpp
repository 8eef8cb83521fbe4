#include "simpul/time.hpp"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace simpul {

// Howard Hinnant's days_from_civil / civil_from_days algorithms (public domain).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

std::int64_t local_day(TimeMs t, int zone_minutes) noexcept {
  const std::int64_t local = t + static_cast<std::int64_t>(zone_minutes) * 60'000;
  return local >= 0 ? local / 86'400'000 : (local - 86'399'999) / 86'400'000;
}

TimeMs system_now_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly n digits at s[pos]; advances pos.
bool read_digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return out;
}

Problem bad(std::string detail) {
  return make_problem(errc::invalid_value, "", "timestamp", std::move(detail));
}

}  // namespace

std::optional<Zone> parse_zone(std::string_view text) {
  std::string u = upper(text);
  if (u == "WIB") return Zone{7 * 60, "WIB"};
  if (u == "WITA") return Zone{8 * 60, "WITA"};
  if (u == "WIT") return Zone{9 * 60, "WIT"};
  if (u == "UTC" || u == "Z" || u == "GMT" || u == "ETC/UTC") return Zone{0, "UTC"};
  // The IANA names an operator sees in `timedatectl` (no daylight saving in Indonesia).
  if (u == "ASIA/JAKARTA" || u == "ASIA/PONTIANAK") return Zone{7 * 60, "WIB"};
  if (u == "ASIA/MAKASSAR") return Zone{8 * 60, "WITA"};
  if (u == "ASIA/JAYAPURA") return Zone{9 * 60, "WIT"};
  if (u.empty() || (u[0] != '+' && u[0] != '-')) return std::nullopt;
  int sign = u[0] == '-' ? -1 : 1;
  std::size_t pos = 1;
  int hh = 0, mm = 0;
  if (!read_digits(u, pos, 2, hh)) return std::nullopt;
  if (pos < u.size() && u[pos] == ':') ++pos;
  if (pos < u.size() && !read_digits(u, pos, 2, mm)) return std::nullopt;
  if (pos != u.size() || hh > 14 || mm > 59) return std::nullopt;
  return Zone{sign * (hh * 60 + mm), std::string(text)};
}

Result<TimeMs> parse_timestamp(std::string_view s, const Zone& naive_zone) {
  const char* kExpected =
      "expected a date-time such as 2024-03-05T10:00:00+07:00, 2024-03-05 10:00 WIB or "
      "2024-03-05";
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, hh = 0, mi = 0, ss = 0, ms = 0;
  if (!read_digits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-' ||
      !read_digits(s, pos, 2, mo) || pos >= s.size() || s[pos++] != '-' ||
      !read_digits(s, pos, 2, d)) {
    return bad(kExpected);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return bad("no such calendar date");
  // Optional time part.
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' ||
                         (s[pos] == ' ' && pos + 1 < s.size() && is_digit(s[pos + 1])))) {
    ++pos;
    if (!read_digits(s, pos, 2, hh) || pos >= s.size() || s[pos++] != ':' ||
        !read_digits(s, pos, 2, mi)) {
      return bad(kExpected);
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_digits(s, pos, 2, ss)) return bad(kExpected);
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        int digits = 0;
        while (pos < s.size() && is_digit(s[pos])) {
          if (digits < 3) ms = ms * 10 + (s[pos] - '0');
          ++digits;
          ++pos;
        }
        if (digits == 0) return bad(kExpected);
        for (; digits < 3; ++digits) ms *= 10;
      }
    }
    if (hh > 23 || mi > 59 || ss > 59) return bad("no such time of day");
  }
  // Optional zone: Z, an offset, or a space and a zone name.
  Zone zone = naive_zone;
  if (pos < s.size()) {
    std::string_view rest = s.substr(pos);
    if (rest.front() == ' ') rest.remove_prefix(1);
    auto z = parse_zone(rest);
    if (!z) return bad("unknown time zone; use Z, an offset like +07:00, or WIB/WITA/WIT");
    zone = *z;
  }
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t local_ms = ((days * 24 + hh) * 60 + mi) * 60'000LL + ss * 1000LL + ms;
  return local_ms - static_cast<std::int64_t>(zone.offset_minutes) * 60'000LL;
}

std::string format_utc(TimeMs t) {
  std::int64_t days = t >= 0 ? t / 86'400'000 : (t - 86'399'999) / 86'400'000;
  std::int64_t rem = t - days * 86'400'000;
  int y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
                static_cast<int>(rem / 3'600'000), static_cast<int>(rem / 60'000 % 60),
                static_cast<int>(rem / 1000 % 60), static_cast<int>(rem % 1000));
  return buf;
}

std::optional<TimeMs> parse_formatted_time(const std::string& value, const std::string& format,
                                           int zone_minutes) {
  int f[6] = {0, 1, 1, 0, 0, 0};  // Y m d H M S
  std::size_t i = 0;
  for (std::size_t k = 0; k < format.size(); ++k) {
    if (format[k] == '%' && k + 1 < format.size()) {
      char spec = format[++k];
      int slot = spec == 'Y'   ? 0
                 : spec == 'm' ? 1
                 : spec == 'd' ? 2
                 : spec == 'H' ? 3
                 : spec == 'M' ? 4
                 : spec == 'S' ? 5
                               : -1;
      if (slot < 0) return std::nullopt;
      std::size_t max_digits = slot == 0 ? 4 : 2;
      std::size_t start = i;
      int v = 0;
      while (i < value.size() && i - start < max_digits &&
             std::isdigit(static_cast<unsigned char>(value[i])))
        v = v * 10 + (value[i++] - '0');
      if (i == start) return std::nullopt;
      f[slot] = v;
    } else {
      if (i >= value.size() || value[i] != format[k]) return std::nullopt;
      ++i;
    }
  }
  if (i != value.size()) return std::nullopt;
  if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
    return std::nullopt;
  char iso[80];
  int off = zone_minutes;
  char sign = off < 0 ? '-' : '+';
  off = std::abs(off);
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", f[0], f[1], f[2], f[3],
                f[4], f[5], sign, off / 60, off % 60);
  auto t = parse_timestamp(iso, Zone{});
  if (!t) return std::nullopt;
  return *t;
}

bool valid_time_format(const std::string& format) {
  for (std::size_t k = 0; k < format.size(); ++k)
    if (format[k] == '%' &&
        (k + 1 >= format.size() || std::string("YmdHMS").find(format[k + 1]) == std::string::npos))
      return false;
  return true;
}

}  // namespace simpul
