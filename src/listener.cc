#include "src/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace ringhttpd {
namespace {

constexpr int listen_backlog = 4096;

std::string format_address(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6.sin6_port));
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
  inet_ntop(AF_INET, &v4.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(v4.sin_port));
}

int open_one(const sockaddr_storage& address, socklen_t length, const std::string& text) {
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(text + ": socket: " + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // Accepted sockets inherit TCP_NODELAY from the listener on Linux (checked
  // with getsockopt on 6.18), which saves a setsockopt per connection.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (address.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
      listen(fd, listen_backlog) != 0) {
    int error = errno;
    close(fd);
    throw std::runtime_error(text + ": cannot listen: " + std::strerror(error));
  }
  return fd;
}

uint16_t port_of(const sockaddr_storage& address) {
  return ntohs(address.ss_family == AF_INET6
                   ? reinterpret_cast<const sockaddr_in6&>(address).sin6_port
                   : reinterpret_cast<const sockaddr_in&>(address).sin_port);
}

// SO_REUSEPORT lets any later socket of the same user join the group
// (uring/KERNEL.md, "SO_REUSEPORT joins any socket of the same user"): a
// second instance would start and silently take a share of the traffic. A
// bind without it fails while anyone (any process, any user) listens on the
// address, so one is tried first.
void refuse_if_taken(const sockaddr_storage& address, socklen_t length, const std::string& text) {
  int probe = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    return;  // the real socket() says why
  }
  int one = 1;
  setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT is no owner
  if (address.ss_family == AF_INET6) {
    setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  bool taken = bind(probe, reinterpret_cast<const sockaddr*>(&address), length) != 0 &&
               errno == EADDRINUSE;
  close(probe);
  if (taken) {
    throw std::runtime_error(text + ": cannot listen: Address already in use (port in use by another process)");
  }
}

}  // namespace

ListenerSet open_listeners(const std::vector<ListenAddress>& addresses, unsigned workers,
                           const std::vector<ListenAddress>& tls_addresses) {
  ListenerSet set;
  set.sockets.assign(workers, {});
  std::vector<std::pair<const ListenAddress*, bool>> all;
  for (const ListenAddress& address : addresses) {
    all.emplace_back(&address, false);
  }
  for (const ListenAddress& address : tls_addresses) {
    all.emplace_back(&address, true);
  }
  try {
    for (auto [wanted_address, tls] : all) {
      const ListenAddress& wanted = *wanted_address;
      std::string flag = (tls ? "--listen-tls " : "--listen ") + wanted.text;
      sockaddr_storage address = wanted.address;
      if (port_of(address) != 0) {
        refuse_if_taken(address, wanted.address_len, flag);
      }
      set.tls.push_back(tls);
      for (unsigned worker = 0; worker < workers; ++worker) {
        int fd = open_one(address, wanted.address_len, flag);
        set.sockets[worker].push_back(fd);
        if (worker == 0) {
          socklen_t length = sizeof address;
          getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
          set.bound_addresses.push_back(format_address(address));
        }
      }
    }
  } catch (...) {
    close_listeners(set);
    throw;
  }
  return set;
}

void close_listeners(ListenerSet& set) {
  for (size_t worker = 0; worker < set.sockets.size(); ++worker) {
    for (int fd : set.sockets[worker]) {
      if (fd >= 0 && (!set.inherited || worker == 0)) {  // shared fds close once
        close(fd);
      }
    }
  }
  for (auto& per_worker : set.sockets) {
    per_worker.clear();
  }
}

ListenerSet inherit_listeners(unsigned workers) {
  ListenerSet set;
  char** names = nullptr;
  int count = sd_listen_fds_with_names(1, &names);  // (1: the variables go, not for children)
  if (count <= 0) {
    return set;
  }
  std::vector<std::string> name_of;
  for (int i = 0; names != nullptr && i < count; ++i) {
    name_of.emplace_back(names[i]);
    free(names[i]);
  }
  free(names);
  set.inherited = true;
  set.sockets.assign(workers, {});
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
    size_t index = static_cast<size_t>(fd - SD_LISTEN_FDS_START);
    set.tls.push_back(index < name_of.size() && name_of[index] == "https");
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
      throw std::runtime_error("socket activation: inherited fd " + std::to_string(fd) +
                               " is not a listening stream socket (ListenStream= in the .socket unit)");
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // inherited by accepted sockets
    for (auto& per_worker : set.sockets) {
      per_worker.push_back(fd);
    }
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    set.bound_addresses.push_back(format_address(address));
  }
  return set;
}

}  // namespace ringhttpd
