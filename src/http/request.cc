#include "src/http/request.h"

#include <array>
#include <optional>

#include "conf/text.h"
#include "src/http/path.h"

namespace ringhttpd {
namespace {

constexpr ParseResult fail(uint16_t status) { return {ParseStatus::error, status, 0}; }

// RFC 9112 §3.2: request-target characters. No spaces, controls or obs-text.
bool is_target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

// RFC 9110 §5.5: field-value is VCHAR, obs-text, SP and HTAB. Everything else
// (NUL, bare CR, bare LF, other controls, DEL) ends the value.
bool is_field_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

// RFC 3986 host: reg-name, IPv4 or [IP-literal], then an optional :port.
bool is_host_char(unsigned char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '!' || c == '$' ||
         c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
         c == ';' || c == '=' || c == '%' || c == ':' || c == '[' || c == ']';
}

Method method_from_text(std::string_view text) {
  // Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
  constexpr std::array<std::pair<std::string_view, Method>, 9> methods{{
      {"GET", Method::get},
      {"HEAD", Method::head},
      {"OPTIONS", Method::options},
      {"POST", Method::post},
      {"PUT", Method::put},
      {"DELETE", Method::delete_},
      {"PATCH", Method::patch},
      {"TRACE", Method::trace},
      {"CONNECT", Method::connect},
  }};
  for (const auto& [name, method] : methods) {
    if (text == name) {
      return method;
    }
  }
  return Method::unknown;
}

// Framing headers are checked as they arrive; this keeps what the checks
// need across repeated fields.
struct FramingState {
  bool host_seen = false;
  bool chunked_seen = false;
};

// Content-Length: exactly one field, exactly 1*DIGIT. RFC 9110 §8.6 lets a
// recipient accept a list of identical values ("5, 5") or repeated fields;
// a front end that reads them differently (",5", "5,") is what request
// smuggling needs, so any of them is 400, as nginx answers.
uint16_t apply_content_length(std::string_view value, Request& out) {
  if (out.has_content_length || !parse_decimal(value, out.content_length)) {
    return 400;
  }
  out.has_content_length = true;
  return 0;
}

// Transfer-Encoding: this server understands only "chunked", which must come
// last and once (RFC 9112 §6.1). Unknown codings: 501.
uint16_t apply_transfer_encoding(std::string_view value, Request& out, FramingState& state) {
  uint16_t status = 0;
  out.has_transfer_encoding = true;
  for_each_list_element(value, [&](std::string_view element) {
    std::string_view coding = trim_ows(element.substr(0, element.find(';')));
    if (status != 0 || coding.empty()) {
      return;
    }
    if (state.chunked_seen) {
      status = 400;  // anything after chunked, chunked included
    } else if (iequals(coding, "chunked")) {
      state.chunked_seen = true;
    } else {
      status = 501;
    }
  });
  return status;
}

void apply_connection(std::string_view value, Request& out) {
  for_each_list_element(value, [&](std::string_view token) {
    if (iequals(token, "close")) {
      out.connection_close = true;
    } else if (iequals(token, "keep-alive")) {
      out.connection_keep_alive = true;
    }
  });
}

void keep_first(std::string_view& field, std::string_view value) {
  if (field.empty()) {
    field = value;
  }
}

uint16_t apply_header(std::string_view name, std::string_view value, Request& out,
                      FramingState& state) {
  switch (name.size()) {
    case 4:
      if (iequals(name, "host")) {
        if (state.host_seen) {
          return 400;  // RFC 9112 §3.2: more than one Host
        }
        for (char c : value) {
          if (!is_host_char(static_cast<unsigned char>(c))) {
            return 400;
          }
        }
        state.host_seen = true;
        out.host = value;
      }
      return 0;
    case 6:
      if (iequals(name, "expect")) {
        (iequals(value, "100-continue") ? out.expect_continue : out.expect_other) = true;
      }
      return 0;
    case 5:
      if (iequals(name, "range")) {
        keep_first(out.range, value);
      }
      return 0;
    case 7:
      if (iequals(name, "referer")) {
        keep_first(out.referer, value);
      }
      return 0;
    case 8:
      if (iequals(name, "if-match")) {
        keep_first(out.if_match, value);
      } else if (iequals(name, "if-range")) {
        keep_first(out.if_range, value);
      }
      return 0;
    case 10:
      if (iequals(name, "connection")) {
        apply_connection(value, out);
      } else if (iequals(name, "user-agent")) {
        keep_first(out.user_agent, value);
      }
      return 0;
    case 13:
      if (iequals(name, "if-none-match")) {
        keep_first(out.if_none_match, value);
      }
      return 0;
    case 14:
      if (iequals(name, "content-length")) {
        return apply_content_length(value, out);
      }
      return 0;
    case 15:
      if (iequals(name, "accept-encoding")) {
        keep_first(out.accept_encoding, value);
      }
      return 0;
    case 17:
      if (iequals(name, "if-modified-since")) {
        keep_first(out.if_modified_since, value);
      } else if (iequals(name, "transfer-encoding")) {
        return apply_transfer_encoding(value, out, state);
      }
      return 0;
    case 19:
      if (iequals(name, "if-unmodified-since")) {
        keep_first(out.if_unmodified_since, value);
      }
      return 0;
    default:
      return 0;
  }
}

// What an unfinished head may still become: too long already, or just short.
ParseResult incomplete(std::string_view input, size_t line_start, bool in_request_line,
                       const ParseLimits& limits) {
  if (in_request_line && input.size() - line_start > limits.max_request_line_bytes) {
    return fail(414);
  }
  if (input.size() >= limits.max_header_bytes) {
    return fail(in_request_line ? 414 : 431);
  }
  return {};
}

// Semantic checks once the whole head is in (RFC 9112 §3.2, §6.1, §6.3).
uint16_t validate_head(Request& out, const FramingState& state) {
  if (out.version_minor >= 1 && !state.host_seen) {
    return 400;
  }
  if (out.has_transfer_encoding) {
    if (out.version_minor == 0 || !state.chunked_seen || out.has_content_length) {
      return 400;  // framing an HTTP/1.0 message or a smuggling shape
    }
  }
  // RFC 9110 §4.2.4: userinfo in a target is refused ("http://a@b/": which
  // host is meant depends on who reads it).
  if (std::optional<std::string_view> authority = target_authority(out.target);
      authority && authority->find('@') != std::string_view::npos) {
    return 400;
  }
  out.method = method_from_text(out.method_text);
  return 0;
}

// Where a parse stands in its input.
struct Cursor {
  std::string_view in;
  const ParseLimits& limits;
  size_t pos = 0;
  size_t line_start = 0;  // of the request-line

  bool at_end() const { return pos == in.size(); }
  unsigned char byte() const { return static_cast<unsigned char>(in[pos]); }
  ParseResult more(bool in_request_line) const {
    return incomplete(in, line_start, in_request_line, limits);
  }
};

// method SP request-target SP HTTP-version CRLF. nullopt once it is read
// whole (the cursor after its CRLF); else what the head comes to.
std::optional<ParseResult> parse_request_line(Cursor& at, Request& out) {
  std::string_view in = at.in;
  while (!at.at_end() && is_tchar(at.byte())) {
    ++at.pos;
  }
  if (at.at_end()) {
    return at.more(true);
  }
  if (at.pos == at.line_start || in[at.pos] != ' ') {
    return fail(400);
  }
  out.method_text = in.substr(at.line_start, at.pos - at.line_start);
  const size_t target_start = ++at.pos;
  while (!at.at_end() && is_target_char(at.byte())) {
    ++at.pos;
  }
  if (at.at_end()) {
    return at.more(true);
  }
  if (at.pos == target_start || in[at.pos] != ' ') {
    return fail(400);
  }
  out.target = in.substr(target_start, at.pos - target_start);
  ++at.pos;

  constexpr std::string_view version_prefix = "HTTP/";
  std::string_view rest = in.substr(at.pos);
  if (rest.substr(0, version_prefix.size()) != version_prefix.substr(0, rest.size())) {
    return fail(400);
  }
  if (rest.size() < 10) {
    return at.more(true);
  }
  unsigned char major = static_cast<unsigned char>(rest[5]);
  unsigned char minor = static_cast<unsigned char>(rest[7]);
  if (!is_digit(major) || rest[6] != '.' || !is_digit(minor) || rest[8] != '\r' ||
      rest[9] != '\n') {
    return fail(400);
  }
  if (at.pos + 8 - at.line_start > at.limits.max_request_line_bytes) {
    return fail(414);
  }
  if (major != '1') {
    return fail(505);
  }
  out.version_minor = minor == '0' ? 0 : 1;
  at.pos += 10;
  return std::nullopt;
}

// One field line, name ":" OWS value OWS CRLF, applied to `out`. nullopt
// once it is read whole; else what the head comes to. A line starting
// with whitespace is obs-fold (or whitespace before the first field): both
// are refused (RFC 9112 §5.2, §2.2).
std::optional<ParseResult> parse_field_line(Cursor& at, Request& out, FramingState& state) {
  std::string_view in = at.in;
  const size_t name_start = at.pos;
  while (!at.at_end() && is_tchar(at.byte())) {
    ++at.pos;
  }
  if (at.at_end()) {
    return at.more(false);
  }
  if (at.pos == name_start || in[at.pos] != ':') {
    return fail(400);  // empty name, space before the colon, or a bad byte
  }
  std::string_view name = in.substr(name_start, at.pos - name_start);
  const size_t value_start = ++at.pos;
  while (!at.at_end() && is_field_value_char(at.byte())) {
    ++at.pos;
  }
  if (at.at_end()) {
    return at.more(false);
  }
  if (in[at.pos] != '\r') {
    return fail(400);  // a control byte or a bare LF in a value
  }
  if (at.pos + 1 == in.size()) {
    return at.more(false);
  }
  if (in[at.pos + 1] != '\n') {
    return fail(400);  // bare CR
  }
  std::string_view value = trim_ows(in.substr(value_start, at.pos - value_start));
  at.pos += 2;
  if (++out.header_count > at.limits.max_header_count || at.pos > at.limits.max_header_bytes) {
    return fail(431);
  }
  if (uint16_t status = apply_header(name, value, out, state); status != 0) {
    return fail(status);
  }
  return std::nullopt;
}

}  // namespace

bool head_worth_parsing(std::string_view input, size_t looked, const ParseLimits& limits) {
  if (looked == 0 || looked > input.size() || input.size() >= limits.max_header_bytes) {
    return true;
  }
  if (input.find('\n', looked) != std::string_view::npos) {
    return true;  // a line ended: a field, the request line, or the head
  }
  // Still in the request line: its own, shorter limit.
  return input.size() > limits.max_request_line_bytes && input.find('\n') == std::string_view::npos;
}

ParseResult parse_request(std::string_view in, const ParseLimits& limits, Request& out) {
  out = Request{};
  Cursor at{in, limits};
  // RFC 9112 §2.2: ignore empty lines before the request-line.
  while (at.pos + 1 < in.size() && in[at.pos] == '\r' && in[at.pos + 1] == '\n') {
    at.pos += 2;
  }
  at.line_start = at.pos;
  if (std::optional<ParseResult> ended = parse_request_line(at, out)) {
    return *ended;
  }
  FramingState state;
  for (;;) {
    if (at.pos >= in.size()) {
      return at.more(false);
    }
    if (in[at.pos] == '\r') {
      if (at.pos + 1 == in.size()) {
        return at.more(false);
      }
      if (in[at.pos + 1] != '\n') {
        return fail(400);
      }
      at.pos += 2;
      break;  // the empty line: the head is whole
    }
    if (std::optional<ParseResult> ended = parse_field_line(at, out, state)) {
      return *ended;
    }
  }
  if (at.pos > limits.max_header_bytes) {
    return fail(431);
  }
  if (uint16_t status = validate_head(out, state); status != 0) {
    return fail(status);
  }
  return {ParseStatus::complete, 0, static_cast<uint32_t>(at.pos)};
}

}  // namespace ringhttpd
