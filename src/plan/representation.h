#pragma once
// Which representation of a file serves (RFC 9110 §12.5.3): the first
// --precompressed coding the client accepts whose sibling ("app.js.br")
// exists and is current. The resolver finds the siblings; these decide.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cache/file_cache.h"
#include "conf/config.h"
#include "src/http/accept_encoding.h"

namespace ringhttpd {

// A sibling serves only while it is at least as new as the file: a stale
// "app.js.br" left behind by an old deploy must not win over a new "app.js".
inline bool sibling_is_current(const CacheEntry& sibling, const CacheEntry& original) {
  return sibling.info.mtime_sec > original.info.mtime_sec ||
         (sibling.info.mtime_sec == original.info.mtime_sec &&
          sibling.info.mtime_nsec >= original.info.mtime_nsec);
}

// The order to try the configured codings in: the client's weights first
// (the highest q wins, RFC 9110 §12.5.3), the server's order between equal
// weights; a coding the client refuses (q=0) is left out. Returns how
// many went into `order` (indices into `configured`).
inline size_t rank_codings(const std::vector<ContentCoding>& configured, const CodingWeights& weights,
                           std::array<uint8_t, 3>& order) {
  size_t count = 0;
  for (size_t i = 0; i < configured.size() && count < order.size(); ++i) {
    uint16_t q = weights.of(configured[i]);
    if (q == 0) {
      continue;
    }
    size_t at = count++;
    while (at > 0 && weights.of(configured[order[at - 1]]) < q) {  // stable: ties keep server order
      order[at] = order[at - 1];
      --at;
    }
    order[at] = static_cast<uint8_t>(i);
  }
  return count;
}

}  // namespace ringhttpd
