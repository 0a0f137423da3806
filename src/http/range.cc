#include "src/http/range.h"

#include <algorithm>

#include "conf/text.h"

namespace ringhttpd {

namespace {

enum class Spec : uint8_t { range, unsatisfiable, malformed };

// One range-spec ("a-b", "a-" or the suffix "-n") against `size`.
Spec parse_spec(std::string_view spec, uint64_t size, ByteRange& range) {
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) {
    return Spec::malformed;
  }
  std::string_view first_text = spec.substr(0, dash);
  std::string_view last_text = spec.substr(dash + 1);
  if (first_text.empty()) {
    // suffix-range "-N": the last N bytes
    uint64_t suffix = 0;
    if (!parse_decimal(last_text, suffix)) {
      return Spec::malformed;
    }
    if (suffix == 0 || size == 0) {
      return Spec::unsatisfiable;
    }
    range.length = std::min(suffix, size);
    range.first = size - range.length;
    return Spec::range;
  }
  uint64_t first = 0;
  uint64_t last = UINT64_MAX;
  if (!parse_decimal(first_text, first) || (!last_text.empty() && !parse_decimal(last_text, last)) ||
      last < first) {
    return Spec::malformed;
  }
  if (first >= size) {
    return Spec::unsatisfiable;  // starts past the end
  }
  range.first = first;
  range.length = std::min(last, size - 1) - first + 1;
  return Spec::range;
}

// Sorted and merged: overlapping or adjacent ranges become one.
void merge(RangeSet& set) {
  std::sort(set.ranges.begin(), set.ranges.begin() + static_cast<long>(set.count),
            [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  size_t merged = 0;
  for (size_t i = 1; i < set.count; ++i) {
    ByteRange& last = set.ranges[merged];
    const ByteRange& next = set.ranges[i];
    if (next.first <= last.first + last.length) {
      last.length = std::max(last.first + last.length, next.first + next.length) - last.first;
    } else {
      set.ranges[++merged] = next;
    }
  }
  set.count = merged + 1;
}

}  // namespace

RangeSet parse_range(std::string_view value, uint64_t size, size_t max_ranges) {
  RangeSet result;
  value = trim_ows(value);
  constexpr std::string_view unit = "bytes=";
  if (value.size() <= unit.size() || !iequals(value.substr(0, unit.size()), unit)) {
    return result;  // another unit, or not a range at all
  }
  max_ranges = std::min(max_ranges, max_ranges_limit);
  bool malformed = false;
  bool any_spec = false;
  uint64_t requested_bytes = 0;
  for_each_list_element(value.substr(unit.size()), [&](std::string_view text) {
    if (malformed) {
      return;
    }
    any_spec = true;
    ByteRange range;
    switch (parse_spec(text, size, range)) {
      case Spec::malformed:
        malformed = true;
        return;
      case Spec::unsatisfiable:
        return;  // satisfies nothing
      case Spec::range:
        break;
    }
    requested_bytes += range.length;
    if (result.count == max_ranges) {
      result.count = max_ranges + 1;  // too many: marked, ignored below
      return;
    }
    if (result.count < max_ranges) {
      result.ranges[result.count++] = range;
    }
  });
  if (malformed || !any_spec || result.count > max_ranges) {
    return RangeSet{};  // ignored: 200
  }
  if (result.count == 0) {
    result.outcome = RangeOutcome::unsatisfiable;
    return result;
  }
  if (requested_bytes > size) {
    return RangeSet{};  // more bytes than the file: cheaper to send it once
  }
  merge(result);
  result.outcome = RangeOutcome::partial;
  return result;
}

}  // namespace ringhttpd
