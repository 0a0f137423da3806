#pragma once
// An HTTP/1.1 request head (RFC 9112) parsed strictly and without
// allocation: every string_view points into the caller's input buffer.

#include <cstdint>
#include <string_view>

namespace ringhttpd {

enum class Method : uint8_t {
  get,
  head,
  options,
  post,
  put,
  delete_,
  patch,
  trace,
  connect,
  unknown,  // syntactically a token, but not a method this server knows: 501
};

struct Request {
  Method method = Method::unknown;
  std::string_view method_text;
  std::string_view target;     // request-target exactly as sent
  uint8_t version_minor = 1;   // HTTP/1.<minor>; 1.2+ is answered as 1.1
  std::string_view host;       // empty when absent
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool has_content_length = false;
  bool has_transfer_encoding = false;  // always "chunked" when accepted
  uint64_t content_length = 0;
  uint32_t header_count = 0;
  // Kept for later stages (logs, validators, ranges, encodings).
  std::string_view user_agent;
  std::string_view referer;
  std::string_view if_match;
  std::string_view if_none_match;
  std::string_view if_modified_since;
  std::string_view if_unmodified_since;
  std::string_view if_range;
  std::string_view range;
  std::string_view accept_encoding;
  // Expect (RFC 9110 §10.1.1): "100-continue", or some other expectation.
  bool expect_continue = false;
  bool expect_other = false;

  bool keep_alive() const {
    return version_minor >= 1 ? !connection_close : connection_keep_alive && !connection_close;
  }
  bool has_body() const { return has_transfer_encoding || content_length > 0; }
};

struct ParseLimits {
  uint32_t max_request_line_bytes = 8 * 1024;  // longer -> 414
  uint32_t max_header_bytes = 16 * 1024;       // whole head, request line included -> 431
  uint32_t max_header_count = 100;             // -> 431
};

enum class ParseStatus : uint8_t { complete, incomplete, error };

struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  uint16_t error_status = 0;  // 400, 414, 431, 501 or 505 when status == error
  uint32_t head_bytes = 0;    // bytes of the head (through the empty line) when complete
};

// A head arriving in pieces: whether the bytes after the first `looked`
// can change what parse_request() says. They can when they end a line (a
// field is whole, or the head is), or when the input reached a limit; so a
// head dribbled byte by byte is parsed once a line, not once a byte (a
// 16 KiB head dribbled that way cost 8,000 times its size to parse).
bool head_worth_parsing(std::string_view input, size_t looked, const ParseLimits& limits);

// Parses one request head from the start of `input`. Stateless: call again
// with more bytes after `incomplete`. Garbage that can never become a request
// (a bad method byte, a bare CR, a TLS handshake) is refused at once instead
// of waiting for the header timeout.
ParseResult parse_request(std::string_view input, const ParseLimits& limits, Request& out);

}  // namespace ringhttpd
