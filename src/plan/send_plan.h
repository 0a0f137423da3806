#pragma once
// A response as the planner (src/plan/) decided it and the sender
// (src/sender.h) puts it on the wire: pieces of the exchange's scratch
// area, the head first, between byte ranges of a file.
//
// Range k of the file follows the piece of scratch ending at piece_end[k]
// (the head, and for multipart the part header before it); after the last
// range comes the piece ending at piece_end[range_count] (the multipart
// closing delimiter, or nothing). With no range at all, piece 0 (the head,
// and a small generated body) is the whole response.

#include <array>
#include <cstdint>

#include "src/http/range.h"
#include "src/http/response.h"

namespace ringhttpd {

struct SendPlan {
  uint16_t status = 0;
  uint8_t range_count = 0;
  uint64_t content_length = 0;  // the body as framed: part headers included
  uint64_t body_bytes = 0;      // what the access log counts once it is all sent
  std::array<ByteRange, max_ranges_limit> ranges{};
  std::array<uint32_t, max_ranges_limit + 1> piece_end{};
  char boundary[24] = {};

  uint32_t piece_start(uint8_t k) const { return k == 0 ? 0 : piece_end[k - 1]; }
  uint32_t piece_bytes(uint8_t k) const { return piece_end[k] - piece_start(k); }

  // A response whose ranges are of a body in memory, in the order its
  // bytes go: each non-empty piece of `scratch`, then range k of `body`
  // (unused when there is no range). fn(const char* bytes, size_t length).
  template <typename Fn>
  void for_each_span(const char* scratch, const char* body, Fn&& fn) const {
    for (uint8_t k = 0; k <= range_count; ++k) {
      if (uint32_t bytes = piece_bytes(k); bytes > 0) {
        fn(scratch + piece_start(k), bytes);
      }
      if (k < range_count) {
        fn(body + ranges[k].first, static_cast<size_t>(ranges[k].length));
      }
    }
  }

  // The head written through `head` is the whole response. False when it
  // overflowed: the scratch area is sized for the longest head, so that
  // never happens, and if a change ever broke it the connection closes
  // rather than send a cut-off head.
  bool set_head_only(const HeaderWriter& head, uint16_t status_code, uint64_t logged_body_bytes) {
    status = status_code;
    range_count = 0;
    content_length = 0;
    body_bytes = logged_body_bytes;
    piece_end[0] = static_cast<uint32_t>(head.size());
    return !head.overflowed();
  }
};

// What every plan is rendered with.
struct PlanContext {
  char* scratch = nullptr;  // the head and part headers are written here
  uint32_t scratch_capacity = 0;
  CommonFields common;      // Date, Connection
  bool head_only = false;   // HEAD: the head alone, whatever the body would be
};

}  // namespace ringhttpd
