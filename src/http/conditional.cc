#include "src/http/conditional.h"

#include "conf/text.h"

namespace ringhttpd {
namespace {

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
