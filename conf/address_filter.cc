#include "conf/address_filter.h"

#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "conf/command_line.h"
#include "conf/text.h"

namespace ringhttpd {

AddressFilter AddressFilter::parse(std::string_view flag, std::string_view list) {
  AddressFilter filter;
  for_each_list_element(list, [&](std::string_view item) {
    auto fail = [&] {
      throw ConfigError(std::string(flag) + ": '" + std::string(item) +
                        "' is not an address or CIDR block (examples: 127.0.0.0/8, ::1, 10.1.2.3)");
    };
    size_t slash = item.find('/');
    std::string address(item.substr(0, slash));
    CidrBlock block;
    if (inet_pton(AF_INET, address.c_str(), block.bytes) == 1) {
      block.family = AF_INET;
      block.prefix_bits = 32;
    } else if (inet_pton(AF_INET6, address.c_str(), block.bytes) == 1) {
      block.family = AF_INET6;
      block.prefix_bits = 128;
    } else {
      fail();
    }
    if (slash != std::string_view::npos) {
      std::string_view bits = item.substr(slash + 1);
      unsigned value = 0;
      auto [end, error] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
      if (bits.empty() || error != std::errc() || end != bits.data() + bits.size() ||
          value > block.prefix_bits) {
        fail();
      }
      block.prefix_bits = static_cast<uint8_t>(value);
    }
    filter._blocks.push_back(block);
  });
  return filter;
}

bool AddressFilter::allows(uint8_t family, const uint8_t* bytes) const {
  for (const CidrBlock& block : _blocks) {
    if (block.family != family) {
      continue;
    }
    unsigned full = block.prefix_bits / 8;
    unsigned rest = block.prefix_bits % 8;
    bool match = true;
    for (unsigned i = 0; i < full && match; ++i) {
      match = bytes[i] == block.bytes[i];
    }
    if (match && rest != 0) {
      auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
      match = (bytes[full] & mask) == (block.bytes[full] & mask);
    }
    if (match) {
      return true;
    }
  }
  return false;
}

}  // namespace ringhttpd
