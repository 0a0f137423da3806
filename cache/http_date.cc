#include "cache/http_date.h"

#include <cstdint>
#include <cstring>

namespace ringhttpd {
namespace {

constexpr std::string_view day_names = "SunMonTueWedThuFriSat";
constexpr std::string_view month_names = "JanFebMarAprMayJunJulAugSepOctNovDec";

struct CivilTime {
  int64_t year;
  unsigned month;    // 1-12
  unsigned day;      // 1-31
  unsigned weekday;  // 0 = Sunday
  unsigned hour;
  unsigned minute;
  unsigned second;
};

CivilTime civil_from_seconds(time_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  CivilTime t{};
  t.weekday = static_cast<unsigned>((days % 7 + 11) % 7);  // 1970-01-01 was a Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  t.day = doy - (153 * mp + 2) / 5 + 1;
  t.month = mp < 10 ? mp + 3 : mp - 9;
  t.year = static_cast<int64_t>(yoe) + era * 400 + (t.month <= 2 ? 1 : 0);
  t.hour = static_cast<unsigned>(rem / 3600);
  t.minute = static_cast<unsigned>(rem / 60 % 60);
  t.second = static_cast<unsigned>(rem % 60);
  return t;
}

int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  int64_t era = (year >= 0 ? year : year - 399) / 400;
  auto yoe = static_cast<unsigned>(year - era * 400);
  unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void put2(char* out, unsigned value) {
  out[0] = static_cast<char>('0' + value / 10 % 10);
  out[1] = static_cast<char>('0' + value % 10);
}

void put_month(char* out, unsigned month) { std::memcpy(out, month_names.data() + (month - 1) * 3, 3); }

void put_year(char* out, int64_t year) {
  auto y = static_cast<unsigned>(year % 10000);
  put2(out, y / 100);
  put2(out + 2, y % 100);
}

void put_time_of_day(char* out, const CivilTime& t) {  // "08:49:37"
  put2(out, t.hour);
  out[2] = ':';
  put2(out + 3, t.minute);
  out[5] = ':';
  put2(out + 6, t.second);
}

// ---- parsing ----------------------------------------------------------------

int month_number(std::string_view name) {  // 1-12, or 0
  for (unsigned i = 0; i < 12; ++i) {
    if (name == month_names.substr(i * 3, 3)) {
      return static_cast<int>(i + 1);
    }
  }
  return 0;
}

bool digits(std::string_view text, size_t count, int& value) {
  if (text.size() < count || count == 0) {
    return false;
  }
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

bool parse_time_of_day(std::string_view text, int& hour, int& minute, int& second) {
  return text.size() == 8 && digits(text, 2, hour) && text[2] == ':' &&
         digits(text.substr(3), 2, minute) && text[5] == ':' && digits(text.substr(6), 2, second) &&
         hour < 24 && minute < 60 && second <= 60;
}

std::optional<time_t> make_time(int year, int month, int day, int hour, int minute, int second) {
  if (month == 0 || day < 1 || day > 31 || year < 1970) {
    return std::nullopt;
  }
  int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return static_cast<time_t>(days * 86400 + hour * 3600 + minute * 60 + second);
}

}  // namespace

void format_http_date(time_t seconds, char* out) {
  CivilTime t = civil_from_seconds(seconds);
  std::memcpy(out, day_names.data() + t.weekday * 3, 3);
  std::memcpy(out + 3, ", ", 2);
  put2(out + 5, t.day);
  out[7] = ' ';
  put_month(out + 8, t.month);
  out[11] = ' ';
  put_year(out + 12, t.year);
  out[16] = ' ';
  put_time_of_day(out + 17, t);
  std::memcpy(out + 25, " GMT", 4);
}

void format_clf_time(time_t seconds, char* out) {
  CivilTime t = civil_from_seconds(seconds);
  out[0] = '[';
  put2(out + 1, t.day);
  out[3] = '/';
  put_month(out + 4, t.month);
  out[7] = '/';
  put_year(out + 8, t.year);
  out[12] = ':';
  put_time_of_day(out + 13, t);
  std::memcpy(out + 21, " +0000]", 7);
}

std::optional<time_t> parse_http_date(std::string_view text) {
  int day = 0;
  int year = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  size_t comma = text.find(',');
  if (comma == 3) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". The length first: a
    // short value such as "abc," must not be sliced (found by fuzz_headers).
    if (text.size() != 29) {
      return std::nullopt;
    }
    std::string_view rest = text.substr(5);
    if (text[4] != ' ' || !digits(rest, 2, day) || rest[2] != ' ' ||
        rest[6] != ' ' || !digits(rest.substr(7), 4, year) || rest[11] != ' ' ||
        !parse_time_of_day(rest.substr(12, 8), hour, minute, second) || rest.substr(20) != " GMT") {
      return std::nullopt;
    }
    return make_time(year, month_number(rest.substr(3, 3)), day, hour, minute, second);
  }
  if (comma != std::string_view::npos) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years are taken
    // within 50 years of now, as §5.6.7 asks (here: 70-99 -> 19xx).
    std::string_view rest = text.substr(comma + 1);
    if (rest.size() != 23 || rest[0] != ' ' || !digits(rest.substr(1), 2, day) || rest[3] != '-' ||
        rest[7] != '-' || !digits(rest.substr(8), 2, year) || rest[10] != ' ' ||
        !parse_time_of_day(rest.substr(11, 8), hour, minute, second) || rest.substr(19) != " GMT") {
      return std::nullopt;
    }
    year += year >= 70 ? 1900 : 2000;
    return make_time(year, month_number(rest.substr(4, 3)), day, hour, minute, second);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (text.size() != 24 || text[3] != ' ' || text[7] != ' ' || text[10] != ' ' || text[19] != ' ') {
    return std::nullopt;
  }
  std::string_view day_text = text.substr(8, 2);
  if (day_text[0] == ' ') {
    day_text.remove_prefix(1);
  }
  if (!digits(day_text, day_text.size(), day) ||
      !parse_time_of_day(text.substr(11, 8), hour, minute, second) ||
      !digits(text.substr(20), 4, year)) {
    return std::nullopt;
  }
  return make_time(year, month_number(text.substr(4, 3)), day, hour, minute, second);
}

}  // namespace ringhttpd
