#pragma once
// Range requests (RFC 9110 §14): "bytes=" range sets resolved against a
// representation's size, with the limits that defuse the CVE-2011-3192
// ("Apache Range killer") shape: at most `max_ranges` ranges, overlapping
// or adjacent ones merged, and a set asking for more bytes than the file has
// answered whole (200) instead of as parts.

#include <array>
#include <cstdint>
#include <string_view>

namespace ringhttpd {

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;  // last = first + length - 1
};

constexpr size_t max_ranges_limit = 32;  // the most --max-ranges can allow

enum class RangeOutcome : uint8_t {
  full,            // no usable Range: answer 200 with the whole representation
  partial,         // 206 with `ranges` (one range, or multipart)
  unsatisfiable,   // 416 with Content-Range: bytes */size
};

struct RangeSet {
  RangeOutcome outcome = RangeOutcome::full;
  size_t count = 0;
  std::array<ByteRange, max_ranges_limit> ranges{};
};

// A Range field value against a representation of `size` bytes. Malformed
// fields and units other than bytes are ignored (RFC 9110 §14.2), as are
// sets of more than `max_ranges` ranges.
RangeSet parse_range(std::string_view value, uint64_t size, size_t max_ranges);

}  // namespace ringhttpd
