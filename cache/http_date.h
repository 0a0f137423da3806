#pragma once
// HTTP dates, formatted and parsed without locale, lock or allocation:
// IMF-fixdate for Date, Last-Modified and Expires (RFC 9110 §5.6.7), the
// access log's CLF time, and all three HTTP-date forms a recipient must
// accept. Civil-date arithmetic is Howard Hinnant's (days <-> y/m/d):
// gmtime_r would take glibc's tz lock on every call.

#include <cstddef>
#include <ctime>
#include <optional>
#include <string_view>

namespace ringhttpd {

// "Sun, 06 Nov 1994 08:49:37 GMT": writes exactly http_date_bytes characters.
constexpr size_t http_date_bytes = 29;
void format_http_date(time_t seconds, char* out);

// "[10/Oct/2000:13:55:36 +0000]": writes exactly clf_time_bytes characters.
constexpr size_t clf_time_bytes = 28;
void format_clf_time(time_t seconds, char* out);

// IMF-fixdate, obsolete RFC 850, or asctime; nullopt when malformed.
std::optional<time_t> parse_http_date(std::string_view text);

// A time's text for the current second, formatted once per second.
template <size_t Bytes, void (*Format)(time_t, char*)>
class PerSecondText {
 public:
  std::string_view get(time_t now) {
    if (now != _second) {
      _second = now;
      Format(now, _text);
    }
    return {_text, Bytes};
  }

 private:
  time_t _second = -1;
  char _text[Bytes] = {};
};

using DateCache = PerSecondText<http_date_bytes, format_http_date>;
using ClfTimeCache = PerSecondText<clf_time_bytes, format_clf_time>;

}  // namespace ringhttpd
