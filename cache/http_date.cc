#include "cache/http_date.h"

#include <cstdint>

namespace ringhttpd {
namespace {

constexpr const char* day_names = "SunMonTueWedThuFriSat";
constexpr const char* month_names = "JanFebMarAprMayJunJulAugSepOctNovDec";

void put2(char* out, unsigned value) {
  out[0] = static_cast<char>('0' + value / 10);
  out[1] = static_cast<char>('0' + value % 10);
}

}  // namespace

void format_http_date(time_t seconds, char* out) {
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm):
  // gmtime_r would take the tz lock and is slower.
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  unsigned weekday = static_cast<unsigned>((days % 7 + 11) % 7);  // 1970-01-01 was Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t year = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned day = doy - (153 * mp + 2) / 5 + 1;
  unsigned month = mp < 10 ? mp + 3 : mp - 9;
  year += month <= 2 ? 1 : 0;

  auto hour = static_cast<unsigned>(rem / 3600);
  auto minute = static_cast<unsigned>(rem / 60 % 60);
  auto second = static_cast<unsigned>(rem % 60);
  for (int i = 0; i < 3; ++i) {
    out[i] = day_names[weekday * 3 + static_cast<unsigned>(i)];
    out[8 + i] = month_names[(month - 1) * 3 + static_cast<unsigned>(i)];
  }
  out[3] = ',';
  out[4] = ' ';
  put2(out + 5, day);
  out[7] = ' ';
  out[11] = ' ';
  auto y = static_cast<unsigned>(year % 10000);
  put2(out + 12, y / 100);
  put2(out + 14, y % 100);
  out[16] = ' ';
  put2(out + 17, hour);
  out[19] = ':';
  put2(out + 20, minute);
  out[22] = ':';
  put2(out + 23, second);
  out[25] = ' ';
  out[26] = 'G';
  out[27] = 'M';
  out[28] = 'T';
}

}  // namespace ringhttpd
