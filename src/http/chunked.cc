#include "src/http/chunked.h"

#include <algorithm>

namespace ringhttpd {
namespace {

int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Bytes a line may hold: field-value bytes (VCHAR, obs-text, SP, HTAB).
bool line_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

using State = ChunkedBody::State;

// One byte of the framing (everything but chunk-data).
ChunkedStatus step(ChunkedBody& body, unsigned char c, const ChunkedLimits& limits) {
  switch (body.state) {
    case State::size: {
      int digit = hex_digit(c);
      if (digit >= 0) {
        if (++body.size_digits > 16) {
          return ChunkedStatus::too_large;
        }
        body.chunk_left = body.chunk_left * 16 + static_cast<uint64_t>(digit);
        return ChunkedStatus::more;
      }
      if (body.size_digits == 0) {
        return ChunkedStatus::malformed;  // no size at all
      }
      body.state = State::size_space;
      [[fallthrough]];
    }
    case State::size_space:
      if (c == ' ' || c == '\t') {
        return ++body.line_bytes > limits.max_line_bytes ? ChunkedStatus::too_large : ChunkedStatus::more;
      }
      if (c == ';') {
        body.state = State::extension;  // chunk-ext: passed over
        return ChunkedStatus::more;
      }
      if (c == '\r') {
        body.state = State::size_lf;
        return ChunkedStatus::more;
      }
      return ChunkedStatus::malformed;
    case State::extension:
      if (c == '\r') {
        body.state = State::size_lf;
        return ChunkedStatus::more;
      }
      if (!line_byte(c)) {
        return ChunkedStatus::malformed;
      }
      return ++body.line_bytes > limits.max_line_bytes ? ChunkedStatus::too_large : ChunkedStatus::more;
    case State::size_lf:
      if (c != '\n') {
        return ChunkedStatus::malformed;  // a bare CR
      }
      body.last_chunk = body.chunk_left == 0;
      body.data_bytes += body.chunk_left;
      if (body.data_bytes > limits.max_data_bytes) {
        return ChunkedStatus::too_large;
      }
      body.state = body.last_chunk ? State::trailer : State::data;
      body.line_bytes = 0;
      return ChunkedStatus::more;
    case State::data_cr:
      body.state = State::data_lf;
      return c == '\r' ? ChunkedStatus::more : ChunkedStatus::malformed;
    case State::data_lf:
      if (c != '\n') {
        return ChunkedStatus::malformed;
      }
      body.state = State::size;
      body.size_digits = 0;
      body.line_bytes = 0;
      return ChunkedStatus::more;
    case State::trailer:
      if (c == '\r') {
        body.state = State::trailer_lf;
        return ChunkedStatus::more;
      }
      if (!line_byte(c)) {
        return ChunkedStatus::malformed;
      }
      ++body.line_bytes;
      return ++body.trailer_bytes > limits.max_trailer_bytes ? ChunkedStatus::too_large
                                                              : ChunkedStatus::more;
    case State::trailer_lf:
      if (c != '\n') {
        return ChunkedStatus::malformed;
      }
      if (body.line_bytes == 0) {
        body.state = State::done;  // the empty line: the body is over
        return ChunkedStatus::done;
      }
      body.state = State::trailer;
      body.line_bytes = 0;
      return ChunkedStatus::more;
    case State::data:
    case State::done:
      break;
  }
  return ChunkedStatus::malformed;
}

}  // namespace

ChunkedStatus scan_chunked(ChunkedBody& body, std::string_view bytes, const ChunkedLimits& limits,
                           size_t& used) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (body.state == State::data) {
      uint64_t take = std::min<uint64_t>(body.chunk_left, bytes.size() - at);
      at += static_cast<size_t>(take);
      body.chunk_left -= take;
      if (body.chunk_left == 0) {
        body.state = State::data_cr;
      }
      continue;
    }
    ChunkedStatus status = step(body, static_cast<unsigned char>(bytes[at++]), limits);
    if (status != ChunkedStatus::more) {
      used = at;
      return status;
    }
  }
  used = at;
  return ChunkedStatus::more;
}

}  // namespace ringhttpd
