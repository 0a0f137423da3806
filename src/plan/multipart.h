#pragma once
// multipart/byteranges bodies (RFC 9110 §14.6): the part header before
// each range, the closing delimiter after the last, and the Content-Length
// they add up to, which the head states before any of them is written.

#include <cstdint>
#include <span>
#include <string_view>

#include "src/http/range.h"
#include "src/http/response.h"
#include "src/plan/send_plan.h"

namespace ringhttpd {

struct MultipartShape {
  std::string_view boundary;
  std::string_view content_type;  // of the file: each part says it
  uint64_t complete_length = 0;   // the file's size: each part's Content-Range says it
};

// Bytes of the part header render_part_header() writes for `range`.
uint64_t part_header_bytes(const MultipartShape& shape, bool first, const ByteRange& range);
// Bytes of the closing delimiter render_multipart_end() writes.
uint64_t multipart_end_bytes(std::string_view boundary);
// The body's length: every part header, every range, the closing delimiter.
uint64_t multipart_content_length(const MultipartShape& shape, std::span<const ByteRange> ranges);

// After the head `out` holds: the piece before each of plan's ranges (its
// part header when `multipart` is given; nothing for a single range) and
// the closing piece, each end recorded in plan.piece_end.
void render_pieces(HeaderWriter& out, const MultipartShape* multipart, SendPlan& plan);

}  // namespace ringhttpd
