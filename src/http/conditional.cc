#include "src/http/conditional.h"

#include <array>

#include "src/http/text.h"

namespace ringhttpd {
namespace {

constexpr std::array<std::string_view, 12> month_names = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(std::string_view name) {
  for (size_t i = 0; i < month_names.size(); ++i) {
    if (name == month_names[i]) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool digits(std::string_view text, size_t count, int& value) {
  if (text.size() < count) {
    return false;
  }
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!is_digit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

// "08:49:37"
bool parse_time_of_day(std::string_view text, int& hour, int& minute, int& second) {
  return text.size() == 8 && digits(text, 2, hour) && text[2] == ':' &&
         digits(text.substr(3), 2, minute) && text[5] == ':' && digits(text.substr(6), 2, second) &&
         hour < 24 && minute < 60 && second <= 60;
}

// Days from 1970-01-01 to a civil date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  int64_t era = (year >= 0 ? year : year - 399) / 400;
  auto yoe = static_cast<unsigned>(year - era * 400);
  unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<time_t> make_time(int year, int month, int day, int hour, int minute, int second) {
  if (month < 0 || day < 1 || day > 31 || year < 1970) {
    return std::nullopt;
  }
  int64_t days = days_from_civil(year, static_cast<unsigned>(month + 1), static_cast<unsigned>(day));
  return static_cast<time_t>(days * 86400 + hour * 3600 + minute * 60 + second);
}

// One entity-tag from the front of `list` (§8.8.3): [W/]"opaque". Sets
// `weak` and returns the quoted part, or empty when malformed.
std::string_view take_entity_tag(std::string_view& list, bool& weak) {
  weak = false;
  if (list.size() >= 2 && list[0] == 'W' && list[1] == '/') {
    weak = true;
    list.remove_prefix(2);
  }
  if (list.empty() || list.front() != '"') {
    return {};
  }
  size_t close = list.find('"', 1);
  if (close == std::string_view::npos) {
    return {};
  }
  std::string_view tag = list.substr(0, close + 1);
  list.remove_prefix(close + 1);
  return tag;
}

}  // namespace

std::optional<time_t> parse_http_date(std::string_view text) {
  int day = 0;
  int year = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  size_t comma = text.find(',');
  if (comma == 3) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    std::string_view rest = text.substr(5);
    if (text.size() != 29 || text[4] != ' ' || !digits(rest, 2, day) || rest[2] != ' ' ||
        rest[6] != ' ' || !digits(rest.substr(7), 4, year) || rest[11] != ' ' ||
        !parse_time_of_day(rest.substr(12, 8), hour, minute, second) || rest.substr(20) != " GMT") {
      return std::nullopt;
    }
    return make_time(year, month_index(rest.substr(3, 3)), day, hour, minute, second);
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
    return make_time(year, month_index(rest.substr(4, 3)), day, hour, minute, second);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (text.size() != 24 || text[3] != ' ' || text[7] != ' ' || text[10] != ' ' ||
      text[19] != ' ') {
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
  return make_time(year, month_index(text.substr(4, 3)), day, hour, minute, second);
}

bool etag_list_matches(std::string_view list, std::string_view etag, EtagComparison comparison) {
  list = trim_ows(list);
  if (list == "*") {
    return true;  // the representation exists
  }
  while (!list.empty()) {
    bool weak = false;
    std::string_view tag = take_entity_tag(list, weak);
    if (tag.empty()) {
      return false;  // malformed: no match, rather than a guess
    }
    if (tag == etag && (comparison == EtagComparison::weak || !weak)) {
      return true;
    }
    list = trim_ows(list);
    if (!list.empty()) {
      if (list.front() != ',') {
        return false;
      }
      list = trim_ows(list.substr(1));
    }
  }
  return false;
}

Precondition evaluate_preconditions(const Request& request, const Validators& validators) {
  // 1. If-Match, else 2. If-Unmodified-Since: 412 when false.
  if (!request.if_match.empty()) {
    if (!etag_list_matches(request.if_match, validators.etag, EtagComparison::strong)) {
      return Precondition::failed;
    }
  } else if (!request.if_unmodified_since.empty()) {
    std::optional<time_t> date = parse_http_date(request.if_unmodified_since);
    if (date && validators.last_modified > *date) {
      return Precondition::failed;
    }
  }
  // 3. If-None-Match, else 4. If-Modified-Since: 304 when it matches (GET/HEAD).
  if (!request.if_none_match.empty()) {
    if (etag_list_matches(request.if_none_match, validators.etag, EtagComparison::weak)) {
      return Precondition::not_modified;
    }
  } else if (!request.if_modified_since.empty()) {
    std::optional<time_t> date = parse_http_date(request.if_modified_since);
    if (date && validators.last_modified <= *date) {
      return Precondition::not_modified;
    }
  }
  return Precondition::proceed;
}

bool if_range_allows(std::string_view if_range, const Validators& validators) {
  if (if_range.empty()) {
    return true;
  }
  if (if_range.front() == '"' || if_range.starts_with("W/")) {
    bool weak = false;
    std::string_view list = if_range;
    std::string_view tag = take_entity_tag(list, weak);
    return !weak && trim_ows(list).empty() && tag == validators.etag;  // strong only (§13.1.5)
  }
  std::optional<time_t> date = parse_http_date(if_range);
  return date && *date == validators.last_modified;
}

}  // namespace ringhttpd
