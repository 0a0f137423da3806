#pragma once
// IMF-fixdate (RFC 9110 §5.6.7), "Sun, 06 Nov 1994 08:49:37 GMT", formatted
// without locale or allocation. DateCache keeps the current second's Date
// header so a worker formats it once per second, not once per response.

#include <ctime>
#include <string_view>

namespace ringhttpd {

constexpr size_t http_date_bytes = 29;

// Writes exactly http_date_bytes characters (no NUL).
void format_http_date(time_t seconds, char* out);

class DateCache {
 public:
  // Returns the Date value for `now`, reformatting only when the second changed.
  std::string_view get(time_t now) {
    if (now != _second) {
      _second = now;
      format_http_date(now, _text);
    }
    return {_text, http_date_bytes};
  }

 private:
  time_t _second = -1;
  char _text[http_date_bytes] = {};
};

}  // namespace ringhttpd
