#pragma once
// Durations as every flag writes them: digits and a unit, the same units
// everywhere: "500ms", "15" or "15s", "2m", "1h", "1d", "1y" (365 days).

#include <cstdint>
#include <optional>
#include <string_view>

namespace ringhttpd {

// Milliseconds, or nullopt when the text is not such a duration. A value
// too large for 64 bits of milliseconds comes back as UINT64_MAX, so a
// caller's "longer than" check names it rather than "not a duration".
std::optional<uint64_t> parse_duration_text(std::string_view text);

}  // namespace ringhttpd
