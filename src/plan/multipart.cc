#include "src/plan/multipart.h"

namespace ringhttpd {
namespace {

uint64_t decimal_digits(uint64_t value) {
  uint64_t digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace

// What render_part_header() writes, counted: "--" (after the CRLF that ends
// the previous part, but for the first) boundary CRLF, "Content-Type: "
// type CRLF, "Content-Range: bytes " first "-" last "/" complete CRLF, CRLF.
uint64_t part_header_bytes(const MultipartShape& shape, bool first, const ByteRange& range) {
  constexpr uint64_t crlf = 2;
  uint64_t bytes = (first ? 2 : 2 + crlf) + shape.boundary.size() + crlf;
  bytes += std::string_view("Content-Type: ").size() + shape.content_type.size() + crlf;
  bytes += std::string_view("Content-Range: bytes ").size() + decimal_digits(range.first) + 1 +
           decimal_digits(range.first + range.length - 1) + 1 +
           decimal_digits(shape.complete_length) + crlf;
  return bytes + crlf;
}

// CRLF "--" boundary "--" CRLF.
uint64_t multipart_end_bytes(std::string_view boundary) { return 2 + 2 + boundary.size() + 2 + 2; }

uint64_t multipart_content_length(const MultipartShape& shape, std::span<const ByteRange> ranges) {
  uint64_t length = multipart_end_bytes(shape.boundary);
  for (size_t k = 0; k < ranges.size(); ++k) {
    length += part_header_bytes(shape, k == 0, ranges[k]) + ranges[k].length;
  }
  return length;
}

void render_pieces(HeaderWriter& out, const MultipartShape* multipart, SendPlan& plan) {
  for (uint8_t k = 0; k < plan.range_count; ++k) {
    if (multipart != nullptr) {
      render_part_header(out, k == 0, multipart->boundary, multipart->content_type,
                         plan.ranges[k], multipart->complete_length);
    }
    plan.piece_end[k] = static_cast<uint32_t>(out.size());
  }
  if (multipart != nullptr) {
    render_multipart_end(out, multipart->boundary);
  }
  plan.piece_end[plan.range_count] = static_cast<uint32_t>(out.size());
}

}  // namespace ringhttpd
