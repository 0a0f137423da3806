#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "conf/command_line.h"

namespace ringhttpd {
namespace {

[[noreturn]] void fail_listen(std::string_view flag, std::string_view message) {
  throw ConfigError(std::string(flag) + ": " + std::string(message));
}

}  // namespace

ListenAddress parse_listen_address(std::string_view text, std::string_view flag) {
  ListenAddress result;
  result.text = std::string(text);
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      fail_listen(flag, "'" + result.text + "' is not [IPv6]:PORT");
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      fail_listen(flag, "'" + result.text + "': write IPv6 addresses as [ADDRESS]:PORT");
    }
  } else {
    port_text = text;
  }
  uint16_t port = static_cast<uint16_t>(parse_unsigned(flag, port_text, 0, 65535));
  if (host.empty() || host == "*") {
    host = "0.0.0.0";
  } else if (host == "localhost") {
    host = "127.0.0.1";
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&result.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    result.address_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    result.address_len = sizeof(sockaddr_in6);
  } else {
    fail_listen(flag, "'" + host + "' is not a numeric IPv4 or IPv6 address");
  }
  return result;
}

}  // namespace ringhttpd
