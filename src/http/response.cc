#include "src/http/response.h"

#include <array>
#include <charconv>
#include <cstring>


namespace ringhttpd {
namespace {

constexpr std::string_view server_name = "ringhttpd";

}  // namespace

std::string_view reason_phrase(uint16_t status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

size_t status_body_bytes(uint16_t status) {
  constexpr size_t status_digits_and_space = 4;
  return status_digits_and_space + reason_phrase(status).size() + 1;
}

void HeaderWriter::append(std::string_view text) {
  if (text.empty()) {
    return;  // its data() may be null, and memcpy(.., nullptr, 0) is undefined
  }
  if (_overflowed || text.size() > _capacity - _size) {
    _overflowed = true;
    return;
  }
  // memmove: a caller may append bytes from later in the same buffer.
  std::memmove(_buffer + _size, text.data(), text.size());
  _size += text.size();
}

void HeaderWriter::append_number(uint64_t value) {
  std::array<char, 20> digits{};
  auto [end, error] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  (void)error;
  append(std::string_view(digits.data(), static_cast<size_t>(end - digits.data())));
}

void HeaderWriter::status_line(uint16_t status) {
  append("HTTP/1.1 ");
  append_number(status);
  append(" ");
  append(reason_phrase(status));
  append("\r\n");
}

void HeaderWriter::field(std::string_view name, std::string_view value) {
  append(name);
  append(": ");
  append(value);
  append("\r\n");
}

void HeaderWriter::field_number(std::string_view name, uint64_t value) {
  append(name);
  append(": ");
  append_number(value);
  append("\r\n");
}

namespace {

void common_fields(HeaderWriter& out, const CommonFields& common) {
  out.field("Server", server_name);
  out.field("Date", common.date);
  if (!common.connection_field.empty()) {
    out.field("Connection", common.connection_field);
  }
}

}  // namespace

namespace {

void content_range(HeaderWriter& out, const ByteRange& range, uint64_t complete_length) {
  out.append("Content-Range: bytes ");
  out.append_number(range.first);
  out.append("-");
  out.append_number(range.first + range.length - 1);
  out.append("/");
  out.append_number(complete_length);
  out.append("\r\n");
}

}  // namespace

void render_file_head(HeaderWriter& out, const CommonFields& common, const FileHead& file) {
  out.status_line(file.status);
  common_fields(out, common);
  if (file.status != 304) {
    if (file.boundary.empty()) {
      out.field("Content-Type", file.content_type);
    } else {
      out.append("Content-Type: multipart/byteranges; boundary=");
      out.append(file.boundary);
      out.append("\r\n");
    }
    out.field_number("Content-Length", file.content_length);
  }
  if (!file.content_encoding.empty()) {
    out.field("Content-Encoding", file.content_encoding);
  }
  if (file.content_range != nullptr) {
    content_range(out, *file.content_range, file.complete_length);
  }
  if (file.vary_accept_encoding) {
    out.field("Vary", "Accept-Encoding");
  }
  out.field("Last-Modified", file.last_modified);
  out.field("ETag", file.etag);
  if (file.status != 304) {
    out.field("Accept-Ranges", "bytes");
  }
  out.append(file.extra_fields);
  if (!file.expires.empty()) {
    out.field("Expires", file.expires);
  }
  out.end_head();
}

void render_generated_head(HeaderWriter& out, const CommonFields& common, uint16_t status,
                           std::string_view content_type, uint64_t content_length) {
  out.status_line(status);
  common_fields(out, common);
  out.field("Content-Type", content_type);
  out.field_number("Content-Length", content_length);
  out.field("Cache-Control", "no-store");
  out.end_head();
}

void render_options(HeaderWriter& out, const CommonFields& common, std::string_view allow) {
  out.status_line(204);
  common_fields(out, common);
  out.field("Allow", allow);
  out.end_head();
}

void render_part_header(HeaderWriter& out, bool first, std::string_view boundary,
                        std::string_view content_type, const ByteRange& range,
                        uint64_t complete_length) {
  out.append(first ? "--" : "\r\n--");
  out.append(boundary);
  out.append("\r\n");
  out.field("Content-Type", content_type);
  content_range(out, range, complete_length);
  out.append("\r\n");
}

void render_multipart_end(HeaderWriter& out, std::string_view boundary) {
  out.append("\r\n--");
  out.append(boundary);
  out.append("--\r\n");
}

void render_status_response(HeaderWriter& out, const CommonFields& common, uint16_t status,
                            bool head_only, std::string_view extra_name,
                            std::initializer_list<std::string_view> extra_value_parts) {
  std::string_view reason = reason_phrase(status);
  out.status_line(status);
  common_fields(out, common);
  if (!extra_name.empty()) {
    out.append(extra_name);
    out.append(": ");
    for (std::string_view part : extra_value_parts) {
      out.append(part);
    }
    out.append("\r\n");
  }
  out.field("Content-Type", "text/plain; charset=utf-8");
  out.field_number("Content-Length", status_body_bytes(status));
  out.end_head();
  if (!head_only) {
    out.append_number(status);
    out.append(" ");
    out.append(reason);
    out.append("\n");
  }
}

}  // namespace ringhttpd
