#pragma once
// Accept-Encoding (RFC 9110 §12.5.3): which content codings a client takes.

#include <cstdint>
#include <string_view>

#include "conf/config.h"

namespace ringhttpd {

// Bit (1 << coding) is set for each coding the field accepts with q > 0:
// named explicitly, or covered by "*" when not named. "q=0" refuses.
// "x-gzip" counts as gzip (§8.4.1.3). An absent field accepts none.
uint8_t accepted_codings(std::string_view accept_encoding);

constexpr uint8_t coding_bit(ContentCoding coding) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(coding));
}

}  // namespace ringhttpd
