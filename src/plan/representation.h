#pragma once
// Which representation of a file serves (RFC 9110 §12.5.3): the first
// --precompressed coding the client accepts whose sibling ("app.js.br")
// exists and is current. The resolver finds the siblings; these decide.

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

// The first of `codings`, at index `from` or later, in the `accepted` set
// (accepted_codings()); codings.size() when there is none.
inline size_t next_accepted_coding(const std::vector<ContentCoding>& codings, uint8_t accepted,
                                   size_t from) {
  while (from < codings.size() && (accepted & coding_bit(codings[from])) == 0) {
    ++from;
  }
  return from;
}

}  // namespace ringhttpd
