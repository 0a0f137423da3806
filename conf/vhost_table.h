#pragma once
// --vhosts: the host directories under the root ("example.com/",
// "_default/"), listed by the main thread at start, every --cache-valid and
// after a deploy, from the very directory the workers open under (its fd,
// not the --root path), so a request never stats its host's directory. Workers copy the set when
// its version changes (on their tick), and look hosts up in their own copy.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "conf/text.h"

namespace ringhttpd {

using HostSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
// A directory whose name has upper-case letters ("Example.com"), by its
// lower-case name: a Host is matched without regard to case (RFC 9110 §4.2.3).
using HostAliases = std::unordered_map<std::string, std::string, StringHash, std::equal_to<>>;

struct HostListing {
  HostSet directories;  // as they are named
  HostAliases aliases;  // lower-cased -> as named, for names with upper case
  // The directory for a lower-cased host name, or empty.
  std::string_view find(std::string_view host) const;
};

class VhostTable {
 public:
  // Lists the subdirectories of the directory `root_fd` is open on (an
  // O_PATH fd will do); a new version when the set changed.
  void rescan(int root_fd);
  uint64_t version() const { return _version.load(std::memory_order_acquire); }
  HostSet snapshot() const;
  HostListing listing() const;

 private:
  mutable std::mutex _mutex;
  HostListing _hosts;
  std::atomic<uint64_t> _version{0};
};

// The directory name for a Host value: lower-cased, port and one trailing
// dot removed. Empty when it is not a plain hostname (an IPv6 literal, or
// bytes a hostname cannot have), so the request falls to _default.
// `out` must hold 254 bytes.
std::string_view host_directory(std::string_view host, char* out);

}  // namespace ringhttpd
