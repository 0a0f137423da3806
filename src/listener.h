#pragma once
// Listening sockets: one per worker per --listen address, bound with
// SO_REUSEPORT so the kernel spreads connections across the workers' rings.

#include <string>
#include <vector>

#include "conf/config.h"

namespace ringhttpd {

struct ListenerSet {
  // sockets[worker][address]
  std::vector<std::vector<int>> sockets;
  std::vector<std::string> bound_addresses;  // "127.0.0.1:8080", port 0 resolved
  std::vector<bool> tls;  // [address]: connections to it speak TLS
  bool inherited = false;  // socket activation: every worker shares the same fds
};

// Throws std::runtime_error with one line naming the address on failure.
// With port 0 the first socket gets an ephemeral port and the other workers
// bind to that same port. `tls_addresses` (--listen-tls) follow `addresses`.
ListenerSet open_listeners(const std::vector<ListenAddress>& addresses, unsigned workers,
                           const std::vector<ListenAddress>& tls_addresses = {});
void close_listeners(ListenerSet& set);

// Socket activation (systemd passes LISTEN_FDS): the inherited listening
// sockets, shared by every worker, each arming its own multishot accept on
// them. An empty set when the process was not socket-activated; throws
// std::runtime_error when an inherited fd is not a listening TCP socket.
// A socket named "https" (FileDescriptorName= in its .socket unit) speaks TLS.
ListenerSet inherit_listeners(unsigned workers);

}  // namespace ringhttpd
