// The server's life around a stop: SIGTERM with a response still under
// way, --drain-time, silent clients, and restarts on an inherited listener
// (what systemd's socket activation does) while clients keep asking.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One request on a new connection, answered within `limit`: the response's
// bytes, "refused" when nobody listens, or what came before the time ran out.
std::string ask_once(uint16_t port, const std::string& target, std::chrono::milliseconds limit) {
  try {
    Client client(port);
    client.send("GET " + target + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    return client.read_until_close(limit);
  } catch (const std::exception& error) {
    return std::string(error.what()).find("connect") != std::string::npos ? "refused" : error.what();
  }
}

// A download the client does not read: the server stays stopping while it
// is owed, as long as --shutdown-timeout lets it.
struct StalledDownload {
  explicit StalledDownload(uint16_t port) : client(port) {
    int small = 4096;
    setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    client.send("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    std::this_thread::sleep_for(200ms);  // the send is under way, and stuck
  }
  Client client;
};

TEST(Lifecycle, ANewConnectionDuringAStopIsRefusedNotLeftHanging) {
  TempDir root;
  root.write("big.bin", std::string(64 << 20, 'b'));
  root.write("a.txt", "a");
  ServerProcess server(root.path(), {"--shutdown-timeout", "4s"});
  StalledDownload download(server.port());
  kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(300ms);
  // The listeners closed at once: refused. (Before, the kernel completed
  // the connection and the request waited until the process exited.)
  EXPECT_EQ(ask_once(server.port(), "/a.txt", 1000ms), "refused");
  EXPECT_EQ(server.stop(), 0);
}

// Once the process has exited its port is free: no accept of its ring is
// left armed (the kernel tears a ring down after the exit, and an armed
// accept kept the socket listening meanwhile: a restart found the port in use).
TEST(Lifecycle, ThePortIsFreeWhenTheProcessHasExited) {
  TempDir root;
  root.write("a.txt", "a");
  for (int round = 0; round < 5; ++round) {
    ServerProcess server(root.path(), {"--workers", "2"});
    uint16_t port = server.port();
    EXPECT_EQ(ask_once(port, "/a.txt", 1000ms).rfind("HTTP/1.1 200 ", 0), 0u);
    EXPECT_EQ(server.stop(), 0);
    EXPECT_EQ(ask_once(port, "/a.txt", 1000ms), "refused") << "round " << round;
  }
}

TEST(Lifecycle, DrainTimeKeepsAnsweringWithCloseAndHealthSays503) {
  TempDir root;
  root.write("big.bin", std::string(64 << 20, 'b'));
  root.write("a.txt", "a");
  ServerProcess server(root.path(), {"--drain-time", "2s", "--health-path", "/healthz",
                                     "--shutdown-timeout", "6s"});
  Client kept(server.port());
  EXPECT_EQ(kept.get("/a.txt").header("Connection"), std::nullopt);  // keep-alive before
  StalledDownload download(server.port());
  auto stop_began = Clock::now();
  kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(kept.closed_by_peer(1000ms));  // idle keep-alive connections close at once
  std::string health = ask_once(server.port(), "/healthz", 1000ms);
  EXPECT_EQ(health.rfind("HTTP/1.1 503 ", 0), 0u) << health;
  std::string file = ask_once(server.port(), "/a.txt", 1000ms);
  EXPECT_EQ(file.rfind("HTTP/1.1 200 ", 0), 0u) << file;
  EXPECT_NE(file.find("\r\nConnection: close\r\n"), std::string::npos) << file;
  // After the drain the listeners close.
  std::this_thread::sleep_until(stop_began + 2600ms);
  EXPECT_EQ(ask_once(server.port(), "/a.txt", 1000ms), "refused");
  EXPECT_EQ(server.stop(), 0);
}

TEST(Lifecycle, AConnectionAcceptedBeforeTheStopGetsItsResponse) {
  TempDir root;
  root.write("a.txt", "answered");
  ServerProcess server(root.path(), {"--workers", "1"});
  Client early(server.port());      // accepted, its request not sent yet
  Client silent(server.port());     // accepted, and it never sends
  std::this_thread::sleep_for(200ms);
  auto stop_began = Clock::now();
  kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(300ms);
  // Sent within the grace: answered (a stop used to close it as idle).
  early.send("GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n");
  Response response = early.read_response();
  EXPECT_EQ(response.body, "answered");
  EXPECT_EQ(response.header("Connection"), "close");
  // The silent one is closed after the grace, not after --shutdown-timeout
  // (10 s) or --header-timeout (10 s): the process is gone within ~1 s.
  EXPECT_TRUE(silent.closed_by_peer(3000ms));
  EXPECT_EQ(server.stop(), 0);
  EXPECT_LT(Clock::now() - stop_began, 3000ms);
}

// A listener the test holds, as systemd does for ringhttpd.socket: each
// server started on it inherits it as fd 3 (LISTEN_FDS), and connections
// made while none runs wait in its queue.
class HeldListener {
 public:
  HeldListener() : _fd(listen_on_loopback(_port, false, true)) {}
  ~HeldListener() { close(_fd); }
  uint16_t port() const { return _port; }
  // Runs the binary with the listener as fd 3 and LISTEN_PID its own pid.
  std::vector<std::string> launcher() const {
    return {"/bin/sh", "-c",
            "export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$0\" \"$@\" 3<&" + std::to_string(_fd)};
  }

 private:
  uint16_t _port = 0;
  int _fd = -1;
};

TEST(Lifecycle, RestartsOnAnInheritedListenerLoseNoRequest) {
  TempDir root;
  root.write("a.txt", "still here");
  HeldListener listener;
  std::atomic<bool> done{false};
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::string first_failure;
  std::mutex failure_mutex;
  auto client_loop = [&] {
    while (!done) {
      std::string reply = ask_once(listener.port(), "/a.txt", 10'000ms);
      if (reply.rfind("HTTP/1.1 200 ", 0) == 0 && reply.ends_with("still here")) {
        ++answered;
      } else {
        ++failed;
        std::lock_guard lock(failure_mutex);
        if (first_failure.empty()) {
          first_failure = reply.empty() ? "(empty reply)" : reply;
        }
      }
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back(client_loop);
  }
  for (int restart = 0; restart < 8; ++restart) {
    ServerProcess server(root.path(), {"--workers", "2"}, "127.0.0.1:1", listener.launcher());
    EXPECT_EQ(server.port(), listener.port());
    std::this_thread::sleep_for(250ms);
    EXPECT_EQ(server.stop(), 0);
    expect_clean_stderr(server.stderr_text());
  }
  {
    // The last restart's waiting connections are served by one more start.
    ServerProcess server(root.path(), {"--workers", "2"}, "127.0.0.1:1", listener.launcher());
    done = true;
    for (std::thread& client : clients) {
      client.join();
    }
  }
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(answered.load(), 100);
}

}  // namespace
}  // namespace ringhttpd::test
