#include "src/listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "conf/command_line.h"

namespace ringhttpd {
namespace {

TEST(Listener, WorkersShareTheEphemeralPortAndAcceptedSocketsInheritNodelay) {
  ListenerSet set = open_listeners({parse_listen_address("127.0.0.1:0")}, 3);
  ASSERT_EQ(set.sockets.size(), 3u);
  ASSERT_EQ(set.bound_addresses.size(), 1u);
  uint16_t port = 0;
  for (const auto& per_worker : set.sockets) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ASSERT_EQ(getsockname(per_worker.at(0), reinterpret_cast<sockaddr*>(&address), &length), 0);
    if (port == 0) {
      port = ntohs(address.sin_port);
    }
    EXPECT_EQ(ntohs(address.sin_port), port);
  }
  EXPECT_EQ(set.bound_addresses[0], "127.0.0.1:" + std::to_string(port));

  // The worker never calls setsockopt(TCP_NODELAY) on accepted sockets: it
  // relies on Linux copying it from the listener. Check that it does.
  int client = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  int accepted = -1;
  for (int attempt = 0; attempt < 1000 && accepted < 0; ++attempt) {
    for (const auto& per_worker : set.sockets) {
      if (accepted < 0) {
        accepted = accept(per_worker.at(0), nullptr, nullptr);
      }
    }
    if (accepted < 0) {
      usleep(1000);
    }
  }
  ASSERT_GE(accepted, 0);
  int nodelay = 0;
  socklen_t length = sizeof nodelay;
  ASSERT_EQ(getsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &nodelay, &length), 0);
  EXPECT_EQ(nodelay, 1);
  close(accepted);
  close(client);
  close_listeners(set);
}

}  // namespace
}  // namespace ringhttpd
