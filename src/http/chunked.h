#pragma once
// A chunked request body (RFC 9112 §7.1) read to its end and not kept: the
// server answers no method that takes a body, so its bytes are only
// skipped, and the connection stays in step with the client. Strict: CRLF
// line ends, 1*16 HEXDIG sizes; extensions and trailer fields are passed
// over, within a bound.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringhttpd {

struct ChunkedBody {
  enum class State : uint8_t {
    size,        // chunk-size hex digits
    size_space,  // BWS after the size: only ';' or CR may follow
    extension,   // after ';': the chunk extensions up to CR
    size_lf,     // the LF after the size line's CR
    data,        // chunk-data
    data_cr,     // the CRLF after chunk-data
    data_lf,
    trailer,     // a trailer field line (or the empty line that ends the body)
    trailer_lf,  // the LF after a trailer line's CR
    done,
  };
  State state = State::size;
  uint8_t size_digits = 0;
  uint64_t chunk_left = 0;    // data bytes of the current chunk still to come
  uint64_t data_bytes = 0;    // decoded so far
  uint32_t line_bytes = 0;    // of the current size or trailer line
  uint32_t trailer_bytes = 0;
  bool last_chunk = false;    // the size line said 0
};

enum class ChunkedStatus : uint8_t {
  more,       // every byte given belongs to the body; it goes on
  done,       // the body ended: `used` bytes of those given were its last
  malformed,  // 400
  too_large,  // more data, or a longer line or trailer, than allowed: 413
};

struct ChunkedLimits {
  uint64_t max_data_bytes = 64 * 1024;
  uint32_t max_line_bytes = 4096;     // a size line with its extensions
  uint32_t max_trailer_bytes = 16384;
};

// Scans `bytes`, which follow those scanned before; `used` is set to how
// many of them belong to the body (all of them, unless done or failed).
ChunkedStatus scan_chunked(ChunkedBody& body, std::string_view bytes, const ChunkedLimits& limits,
                           size_t& used);

}  // namespace ringhttpd
