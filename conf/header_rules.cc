#include "conf/header_rules.h"

#include <array>
#include <charconv>

#include "conf/command_line.h"
#include "conf/duration.h"
#include "conf/text.h"

namespace ringhttpd {
namespace {

[[noreturn]] void fail(std::string_view flag, std::string_view text, std::string_view why) {
  throw ConfigError(std::string(flag) + ": '" + std::string(text) + "' " + std::string(why));
}

// Fields the server itself owns: a rule setting one would break framing or
// contradict what the server sends.
constexpr std::array<std::string_view, 14> reserved_names = {
    "content-length", "transfer-encoding", "connection", "content-range", "content-type",
    "content-encoding", "date", "etag", "last-modified", "accept-ranges", "keep-alive",
    "upgrade", "trailer", "te"};

PathPattern parse_pattern(std::string_view flag, std::string_view whole, std::string_view text) {
  PathPattern pattern;
  if (text.size() > 2 && text.starts_with("*.") && text.find('/') == std::string_view::npos) {
    pattern.extension = true;
    pattern.text = ascii_lowered(text.substr(2));
  } else if (!text.empty() && text.front() == '/') {
    pattern.text = std::string(text);
  } else {
    fail(flag, whole, "needs a pattern: a path prefix such as /assets/ or an extension such as *.js");
  }
  return pattern;
}

}  // namespace

bool PathPattern::matches(std::string_view path) const {
  if (!extension) {
    return path.starts_with(text);
  }
  std::string_view name = path.substr(path.rfind('/') + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.size() - dot - 1 != text.size()) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (ascii_lower(name[dot + 1 + i]) != text[i]) {
      return false;
    }
  }
  return true;
}

void HeaderRules::fields_for(std::string_view path, std::string& fields,
                             int64_t& max_age_seconds) const {
  fields.clear();
  max_age_seconds = -1;
  bool sets_cache_control = false;
  for (const HeaderRule& rule : headers) {
    if (rule.pattern.matches(path)) {
      fields += rule.name + ": " + rule.value + "\r\n";
      sets_cache_control |= iequals(rule.name, "cache-control");
    }
  }
  for (const ExpiresRule& rule : expires) {
    if (rule.pattern.matches(path)) {
      max_age_seconds = static_cast<int64_t>(rule.max_age_seconds);
      if (!sets_cache_control) {
        fields += "Cache-Control: max-age=" + std::to_string(rule.max_age_seconds) + "\r\n";
      }
      break;
    }
  }
}

HeaderRule parse_header_rule(std::string_view text) {
  constexpr std::string_view flag = "--header";
  size_t separator = text.find(": ");
  if (separator == std::string_view::npos) {
    fail(flag, text, "is not 'PATTERN: Name: value'");
  }
  HeaderRule rule;
  rule.pattern = parse_pattern(flag, text, trim_ows(text.substr(0, separator)));
  std::string_view field = text.substr(separator + 2);
  size_t colon = field.find(':');
  if (colon == std::string_view::npos) {
    fail(flag, text, "is not 'PATTERN: Name: value'");
  }
  std::string_view name = field.substr(0, colon);
  std::string_view value = trim_ows(field.substr(colon + 1));
  if (!is_token(name)) {
    fail(flag, text, "has an invalid field name");
  }
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      fail(flag, text, "has a control character in its value");
    }
  }
  for (std::string_view reserved : reserved_names) {
    if (iequals(name, reserved)) {
      fail(flag, text, "sets a field the server owns");
    }
  }
  rule.name = std::string(name);
  rule.value = std::string(value);
  return rule;
}

uint64_t parse_max_age_seconds(std::string_view flag, std::string_view text) {
  constexpr uint64_t ten_years_ms = 10ull * 365 * 86'400'000;
  if (text == "max") {
    return ten_years_ms / 1000;
  }
  std::optional<uint64_t> ms = parse_duration_text(text);
  if (!ms) {
    fail(flag, text, "is not a duration (examples: 3600, 10m, 12h, 30d, 1y, max)");
  }
  if (*ms > ten_years_ms) {
    fail(flag, text, "is longer than 10 years");
  }
  if (*ms % 1000 != 0) {
    fail(flag, text, "is not a whole number of seconds");
  }
  return *ms / 1000;
}

ExpiresRule parse_expires_rule(std::string_view text) {
  constexpr std::string_view flag = "--expires";
  size_t equals = text.rfind('=');
  if (equals == std::string_view::npos) {
    fail(flag, text, "is not 'PATTERN=DURATION'");
  }
  ExpiresRule rule;
  rule.pattern = parse_pattern(flag, text, trim_ows(text.substr(0, equals)));
  rule.max_age_seconds = parse_max_age_seconds(flag, trim_ows(text.substr(equals + 1)));
  return rule;
}

}  // namespace ringhttpd
