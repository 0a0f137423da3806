#include "conf/duration.h"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include "conf/text.h"

namespace ringhttpd {

std::optional<uint64_t> parse_duration_text(std::string_view text) {
  constexpr uint64_t day_ms = 86'400'000;
  constexpr std::array<std::pair<std::string_view, uint64_t>, 7> units{{
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", day_ms},
      {"y", 365 * day_ms},
  }};
  size_t digits = 0;
  while (digits < text.size() && is_digit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0) {
    return std::nullopt;
  }
  std::string_view unit = text.substr(digits);
  uint64_t scale = 0;
  for (const auto& [name, unit_ms] : units) {
    if (unit == name) {
      scale = unit_ms;
    }
  }
  if (scale == 0) {
    return std::nullopt;
  }
  constexpr uint64_t most = std::numeric_limits<uint64_t>::max();
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + digits, value);
  (void)end;
  if (error == std::errc::result_out_of_range || value > most / scale) {
    return most;
  }
  return value * scale;
}

}  // namespace ringhttpd
