#pragma once
// Response heads rendered into a caller's fixed buffer: no allocation, and an
// overflow is reported rather than written past the end.

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "src/http/range.h"


namespace ringhttpd {

std::string_view reason_phrase(uint16_t status);
// Bytes of the small body render_status_response sends: "404 Not Found\n".
size_t status_body_bytes(uint16_t status);

class HeaderWriter {
 public:
  HeaderWriter(char* buffer, size_t capacity) : _buffer(buffer), _capacity(capacity) {}

  void append(std::string_view text);
  void append_number(uint64_t value);
  void status_line(uint16_t status);
  void field(std::string_view name, std::string_view value);
  void field_number(std::string_view name, uint64_t value);
  void end_head() { append("\r\n"); }

  bool overflowed() const { return _overflowed; }
  size_t size() const { return _size; }
  std::string_view text() const { return {_buffer, _size}; }

 private:
  char* _buffer;
  size_t _capacity;
  size_t _size = 0;
  bool _overflowed = false;
};

// Fields every response carries; connection_field is empty or the value of
// the Connection field ("close", or "keep-alive" for an HTTP/1.0 client).
struct CommonFields {
  std::string_view date;
  std::string_view connection_field;
};

// What a file response's head says. The validators and type were formatted
// once when the file was opened.
struct FileHead {
  uint16_t status = 200;          // 200, 206, or 304 (which has no type or length)
  uint64_t content_length = 0;
  std::string_view content_type;
  std::string_view last_modified;
  std::string_view etag;
  // 206 with one range: "Content-Range: bytes first-last/complete_length".
  const ByteRange* content_range = nullptr;
  uint64_t complete_length = 0;
  // 206 with several ranges: Content-Type becomes multipart/byteranges.
  std::string_view boundary;
  // A precompressed representation: Content-Encoding; and Vary whenever
  // the response could have been encoded otherwise.
  std::string_view content_encoding;
  bool vary_accept_encoding = false;
  // Rule fields (--header, --expires), rendered lines, and an Expires date.
  std::string_view extra_fields;
  std::string_view expires;
};

// The head of a file response; the body follows separately.
void render_file_head(HeaderWriter& out, const CommonFields& common, const FileHead& file);

// One part's header in a multipart/byteranges body (RFC 9110 §14.6). Every
// part but the first starts with the CRLF that ends the previous part.
void render_part_header(HeaderWriter& out, bool first, std::string_view boundary,
                        std::string_view content_type, const ByteRange& range,
                        uint64_t complete_length);
// The closing delimiter: CRLF "--" boundary "--" CRLF.
void render_multipart_end(HeaderWriter& out, std::string_view boundary);

// The head of a body the server generates (metrics, health): never cached.
void render_generated_head(HeaderWriter& out, const CommonFields& common, uint16_t status,
                           std::string_view content_type, uint64_t content_length);

// 204 for OPTIONS: what the server allows, and no body.
void render_options(HeaderWriter& out, const CommonFields& common, std::string_view allow);

// An error or redirect with its small text body (omitted for HEAD, though
// Content-Length still describes it). extra_name and the concatenation of
// extra_value_parts add one field: Allow for 405, Location for 301.
void render_status_response(HeaderWriter& out, const CommonFields& common, uint16_t status,
                            bool head_only, std::string_view extra_name = {},
                            std::initializer_list<std::string_view> extra_value_parts = {});

}  // namespace ringhttpd
