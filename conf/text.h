#pragma once
// Byte-level helpers for the text the server reads: HTTP heads (RFC 9110
// §5.6.2 character classes, OWS, #lists) and its own flags and files (which
// use the same lists and the same case rules). One copy for both, below
// both: conf/ and src/http/ include it.

#include <array>
#include <charconv>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ringhttpd {

inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool is_alnum(unsigned char c) { return is_digit(c) || is_alpha(c); }

namespace detail {
constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
inline constexpr std::array<bool, 256> tchar_table = make_tchar_table();
}  // namespace detail

// token characters: method and field names.
inline bool is_tchar(unsigned char c) { return detail::tchar_table[c]; }

// A token (RFC 9110 §5.6.2): one or more tchars.
inline bool is_token(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (!is_tchar(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = ascii_lower(c);
  }
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

inline bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for each comma-separated element of a #list, trimmed of
// OWS; empty elements are skipped (RFC 9110 §5.6.1). Flags that take lists
// (--listen, --index, --precompressed, --metrics-allow) read them the same way.
template <typename Fn>
void for_each_list_element(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty()) {
      fn(element);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
}

// 1*DIGIT of at most 18 digits, so it can never overflow: what
// Content-Length and byte positions are read with. False when empty, too
// long, or not all digits (no sign, no spaces).
inline bool parse_decimal(std::string_view text, uint64_t& value) {
  constexpr size_t max_digits = 18;
  if (text.empty() || text.size() > max_digits || !is_digit(static_cast<unsigned char>(text[0]))) {
    return false;
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// Heterogeneous lookup for string-keyed maps and sets: find(string_view)
// without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace ringhttpd
