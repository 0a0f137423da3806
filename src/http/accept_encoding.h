#pragma once
// Accept-Encoding (RFC 9110 §12.5.3): which content codings a client takes.

#include <cstdint>
#include <string_view>

#include "conf/config.h"

namespace ringhttpd {

// The weight (q, in thousandths: 0 to 1000) the field gives each coding:
// named explicitly, or covered by "*" when not named; 0 refuses it.
// "x-gzip" counts as gzip (§8.4.1.3). An absent field accepts none.
struct CodingWeights {
  uint16_t q[3] = {0, 0, 0};  // by ContentCoding
  uint16_t of(ContentCoding coding) const { return q[static_cast<size_t>(coding)]; }
};
CodingWeights coding_weights(std::string_view accept_encoding);

// Bit (1 << coding) is set for each coding with q > 0.
uint8_t accepted_codings(std::string_view accept_encoding);

constexpr uint8_t coding_bit(ContentCoding coding) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(coding));
}

}  // namespace ringhttpd
