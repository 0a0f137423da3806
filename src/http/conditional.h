#pragma once
// Conditional requests (RFC 9110 §13): the preconditions evaluated in the
// order of §13.2.2, against a representation's strong ETag and Last-Modified.

#include <cstdint>
#include <ctime>
#include <optional>
#include <string_view>

#include "cache/http_date.h"
#include "src/http/request.h"

namespace ringhttpd {

// Does an If-Match / If-None-Match list ("*", or #entity-tag) match `etag`?
// Strong comparison for If-Match, weak for If-None-Match (§8.8.3.2).
enum class EtagComparison : uint8_t { strong, weak };
bool etag_list_matches(std::string_view list, std::string_view etag, EtagComparison comparison);

enum class Precondition : uint8_t {
  proceed,           // answer normally (200, or 206 when a Range applies)
  not_modified,      // 304
  failed,            // 412
};

struct Validators {
  std::string_view etag;  // strong, quoted
  time_t last_modified = 0;
};

// Steps 1-4 of §13.2.2 (If-Match, If-Unmodified-Since, If-None-Match,
// If-Modified-Since) for a GET or HEAD of an existing representation.
Precondition evaluate_preconditions(const Request& request, const Validators& validators);

// Step 5: should the Range be honoured? True without If-Range; with it, when
// it holds a strong ETag equal to ours or a date equal to Last-Modified.
bool if_range_allows(std::string_view if_range, const Validators& validators);

}  // namespace ringhttpd
