#include "src/http/path.h"

#include <cstring>

#include "conf/text.h"

namespace ringhttpd {
namespace {

int hex_value(unsigned char c) {
  if (is_digit(c)) return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Removes "", "." and ".." segments in place; returns the new length, or -1
// when ".." would climb above the root. A path that ends in "/", "." or ".."
// names a directory and keeps a trailing slash.
long remove_dot_segments(char* path, size_t length, bool& trailing_slash) {
  size_t write = 0;  // path[0, write) is the normalised prefix, no trailing '/'
  size_t read = 0;
  trailing_slash = false;
  while (read < length) {
    while (read < length && path[read] == '/') ++read;
    if (read == length) {
      trailing_slash = true;
      break;
    }
    size_t start = read;
    while (read < length && path[read] != '/') ++read;
    std::string_view segment(path + start, read - start);
    bool last = read == length;
    if (segment == "." || segment == "..") {
      if (segment == "..") {
        if (write == 0) {
          return -1;
        }
        while (path[write - 1] != '/') --write;
        --write;  // the '/' before the removed segment
      }
      trailing_slash = last;
      continue;
    }
    path[write++] = '/';
    std::memmove(path + write, segment.data(), segment.size());
    write += segment.size();
  }
  if (write == 0 || trailing_slash) {
    path[write++] = '/';
    trailing_slash = true;
  }
  return static_cast<long>(write);
}

// Where the authority of an absolute-form target starts ("http://" or
// "https://", the scheme in any case: RFC 9110 §4.2.1), or 0 for any other form.
size_t authority_offset(std::string_view target) {
  if (target.size() > 7 && istarts_with(target, "http://")) {
    return 7;
  }
  if (target.size() > 8 && istarts_with(target, "https://")) {
    return 8;
  }
  return 0;
}

}  // namespace

std::optional<std::string_view> target_authority(std::string_view target) {
  size_t start = authority_offset(target);
  if (start == 0) {
    return std::nullopt;
  }
  return target.substr(start, target.find_first_of("/?", start) - start);
}

std::string_view target_path(std::string_view target) {
  if (size_t start = authority_offset(target); start != 0) {
    size_t slash = target.find_first_of("/?", start);
    target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
    if (target.empty() || target.front() == '?') {
      return "/";
    }
  }
  return target.substr(0, target.find('?'));
}

std::string_view target_query(std::string_view target) {
  size_t question = target.find('?');
  return question == std::string_view::npos ? std::string_view() : target.substr(question);
}

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      if (c == 0xE0) low = 0xA0;   // overlong
      if (c == 0xED) high = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      if (c == 0xF0) low = 0x90;   // overlong
      if (c == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;  // C0, C1 (overlong), F5-FF, or a stray continuation byte
    }
    if (i + extra >= bytes.size()) {
      return false;  // truncated sequence
    }
    for (size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(bytes[i + k]);
      unsigned char lo = k == 1 ? low : 0x80;
      unsigned char hi = k == 1 ? high : 0xBF;
      if (next < lo || next > hi) {
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

bool has_hidden_segment(std::string_view path) {
  for (size_t at = path.find("/."); at != std::string_view::npos; at = path.find("/.", at + 1)) {
    std::string_view segment = path.substr(at + 1);
    segment = segment.substr(0, segment.find('/'));
    if (segment != ".well-known") {
      return true;
    }
  }
  return false;
}

NormalizedPath normalize_target(std::string_view target, char* out, size_t capacity) {
  NormalizedPath result;
  std::string_view path = target_path(target);
  if (path.empty() || path.front() != '/' || path.find('#') != std::string_view::npos ||
      capacity < path.size() + 2) {
    result.error_status = 400;
    return result;
  }
  size_t length = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    auto c = static_cast<unsigned char>(path[i]);
    if (c == '%') {
      int high = i + 2 < path.size() ? hex_value(static_cast<unsigned char>(path[i + 1])) : -1;
      int low = i + 2 < path.size() ? hex_value(static_cast<unsigned char>(path[i + 2])) : -1;
      if (high < 0 || low < 0) {
        result.error_status = 400;
        return result;
      }
      c = static_cast<unsigned char>(high * 16 + low);
      i += 2;
    }
    if (c < 0x20 || c == 0x7f) {
      result.error_status = 400;  // NUL and other controls never name a file
      return result;
    }
    out[length++] = static_cast<char>(c);
  }
  if (!is_valid_utf8(std::string_view(out, length))) {
    result.error_status = 400;
    return result;
  }
  long normalized = remove_dot_segments(out, length, result.trailing_slash);
  if (normalized < 0) {
    result.error_status = 400;
    return result;
  }
  result.length = static_cast<size_t>(normalized);
  out[result.length] = '\0';
  return result;
}

}  // namespace ringhttpd
