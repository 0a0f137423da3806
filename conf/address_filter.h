#pragma once
// --metrics-allow: a list of CIDR blocks ("127.0.0.0/8,::1/128,10.0.0.0/8")
// and the check of a client address against it. IPv4-mapped IPv6 clients
// are matched as IPv4.

#include <cstdint>
#include <string_view>
#include <vector>

namespace ringhttpd {

struct CidrBlock {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t bytes[16] = {};
  uint8_t prefix_bits = 0;
};

class AddressFilter {
 public:
  // Throws ConfigError naming `flag` on a malformed block.
  static AddressFilter parse(std::string_view flag, std::string_view list);
  // `bytes` holds 4 (AF_INET) or 16 (AF_INET6) address bytes.
  bool allows(uint8_t family, const uint8_t* bytes) const;
  bool empty() const { return _blocks.empty(); }

 private:
  std::vector<CidrBlock> _blocks;
};

}  // namespace ringhttpd
