#pragma once
// Extra response headers by path rule (mathopd's ExtraHeaders, done right):
//   --header  'PATTERN: Name: value'   adds "Name: value"
//   --expires 'PATTERN=DURATION'       adds Cache-Control: max-age and Expires
// PATTERN is a path prefix ("/assets/") or an extension ("*.woff2"), matched
// against the path of the file served. Every matching --header applies, in
// order; the first matching --expires applies.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringhttpd {

struct PathPattern {
  bool extension = false;  // "*.ext": the text is the extension, lower-case
  std::string text;        // a path prefix, or the extension
  bool matches(std::string_view path) const;
};

struct HeaderRule {
  PathPattern pattern;
  std::string name;
  std::string value;
};

struct ExpiresRule {
  PathPattern pattern;
  uint64_t max_age_seconds = 0;
};

struct HeaderRules {
  std::vector<HeaderRule> headers;
  std::vector<ExpiresRule> expires;

  bool empty() const { return headers.empty() && expires.empty(); }
  // The fields for a file at `path`, as "Name: value\r\n" lines, and the
  // max-age for Expires (-1: none). Cache-Control from --expires is left out
  // when a --header rule already sets Cache-Control for the path.
  void fields_for(std::string_view path, std::string& fields, int64_t& max_age_seconds) const;
};

// Throw ConfigError naming --header / --expires and the value.
HeaderRule parse_header_rule(std::string_view text);
ExpiresRule parse_expires_rule(std::string_view text);
// "3600" (seconds), "30s", "10m", "12h", "30d", "1y", or "max" (10 years).
uint64_t parse_max_age_seconds(std::string_view flag, std::string_view text);

}  // namespace ringhttpd
