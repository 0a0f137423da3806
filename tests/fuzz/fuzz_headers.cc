// libFuzzer target: the Range, conditional, HTTP-date and Accept-Encoding
// parsers. The first byte picks a file size; the rest is the field value.
// Invariants: ranges are sorted, disjoint, non-empty and inside the file,
// and never more than max_ranges.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/http/accept_encoding.h"
#include "src/http/conditional.h"
#include "src/http/range.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  uint64_t file_size = data[0] == 0 ? 0 : uint64_t{data[0]} * 997;
  std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);

  ringhttpd::RangeSet set = ringhttpd::parse_range(value, file_size, 16);
  if (set.outcome == ringhttpd::RangeOutcome::partial) {
    if (set.count == 0 || set.count > 16) {
      std::abort();
    }
    uint64_t previous_end = 0;
    for (size_t i = 0; i < set.count; ++i) {
      const ringhttpd::ByteRange& range = set.ranges[i];
      if (range.length == 0 || range.first + range.length > file_size ||
          (i > 0 && range.first <= previous_end)) {
        std::abort();
      }
      previous_end = range.first + range.length;
    }
  }

  std::optional<time_t> date = ringhttpd::parse_http_date(value);
  if (date) {
    char text[ringhttpd::http_date_bytes];
    ringhttpd::format_http_date(*date, text);  // any parsed date formats back
  }
  ringhttpd::Validators validators{"\"abc\"", date.value_or(0)};
  ringhttpd::Request request;
  request.if_match = value;
  request.if_none_match = value;
  request.if_modified_since = value;
  (void)ringhttpd::evaluate_preconditions(request, validators);
  (void)ringhttpd::if_range_allows(value, validators);
  (void)ringhttpd::accepted_codings(value);
  return 0;
}
