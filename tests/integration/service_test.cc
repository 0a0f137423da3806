// The appliance side: the systemd notify protocol against a test
// NOTIFY_SOCKET, and --check.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

// A datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : _path(path) {
    _fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(_fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  ~NotifySocket() { close(_fd); }
  // The next message containing `wanted`, or "" after the timeout.
  std::string wait_for(const std::string& wanted, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd wait{_fd, POLLIN, 0};
      if (poll(&wait, 1, 100) <= 0) {
        continue;
      }
      char message[1024];
      ssize_t n = recv(_fd, message, sizeof message, 0);
      if (n > 0 && std::string(message, static_cast<size_t>(n)).find(wanted) != std::string::npos) {
        return std::string(message, static_cast<size_t>(n));
      }
    }
    return "";
  }

 private:
  std::string _path;
  int _fd = -1;
};

TEST(Service, NotifyProtocolReadyStatusWatchdogStopping) {
  TempDir root;
  root.write("a.txt", "a");
  NotifySocket notify(root.path() + "/notify.sock");
  setenv("NOTIFY_SOCKET", (root.path() + "/notify.sock").c_str(), 1);
  setenv("WATCHDOG_USEC", "2000000", 1);
  auto server = std::make_unique<ServerProcess>(root.path());
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");

  std::string ready = notify.wait_for("READY=1", 5s);
  ASSERT_NE(ready, "") << "no READY=1";
  Client client(server->port());  // READY means the port accepts
  EXPECT_EQ(client.get("/a.txt").body, "a");
  EXPECT_NE(ready.find("STATUS=listening on 127.0.0.1:"), std::string::npos) << ready;
  EXPECT_NE(notify.wait_for("WATCHDOG=1", 3s), "") << "no watchdog ping within 3 s of a 2 s watchdog";
  // STATUS= comes every 5 s; one of them must count the request above.
  std::string status = notify.wait_for(" connections, 1 requests served", 12s);
  EXPECT_NE(status, "") << "no STATUS= counting the request";
  std::thread stopper([&] { EXPECT_EQ(server->stop(), 0); });
  EXPECT_NE(notify.wait_for("STOPPING=1", 5s), "");
  stopper.join();
}

TEST(Service, SocketActivationServesOnTheInheritedListener) {
  const std::string launcher = "/usr/bin/systemd-socket-activate";
  if (access(launcher.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "systemd-socket-activate is not installed";
  }
  // A free port, chosen by the kernel and handed to the launcher.
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  std::string port = std::to_string(ntohs(address.sin_port));
  close(probe);
  TempDir root;
  root.write("a.txt", "activated");
  // The launcher execs ringhttpd on the first connection, which then waits
  // in the inherited socket's queue until ringhttpd accepts it: the promise
  // of socket activation, tested as such.
  std::string first_body;
  std::thread first_client([&] {
    for (int attempt = 0; attempt < 100 && first_body.empty(); ++attempt) {
      try {
        Client client(static_cast<uint16_t>(std::stoi(port)));
        first_body = client.get("/a.txt").body;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(50ms);  // the launcher is not listening yet
      }
    }
  });
  // --listen names another port: with LISTEN_FDS it must not be used.
  ServerProcess server(root.path(), {"--workers", "3"}, "127.0.0.1:1",
                       {launcher, "-l", "127.0.0.1:" + port});
  first_client.join();
  EXPECT_EQ(first_body, "activated");
  EXPECT_EQ(std::to_string(server.port()), port);
  for (int i = 0; i < 12; ++i) {  // spread over the workers sharing the socket
    Client client(server.port());
    EXPECT_EQ(client.get("/a.txt").body, "activated");
  }
  EXPECT_EQ(server.stop(), 0);
  EXPECT_EQ(server.stderr_text().find("AddressSanitizer"), std::string::npos);
}

// A launcher that hands ringhttpd a listener (LISTEN_FDS, fd 3) and keeps a
// copy of it: when the trigger file appears it shuts that listener down, so
// every accept on it fails with EINVAL from then on.
constexpr const char* listener_breaker = R"(
import os, socket, sys, time
trigger = sys.argv[1]
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
os.dup2(listener.fileno(), 3)
os.set_inheritable(3, True)
if os.fork() == 0:
    for _ in range(1000):
        if os.path.exists(trigger):
            listener.shutdown(socket.SHUT_RD)
            break
        time.sleep(0.01)
    os._exit(0)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
)";

TEST(Service, ListenerThatStopsListeningPausesAcceptsInsteadOfSpinning) {
  if (access("/usr/bin/python3", X_OK) != 0) {
    GTEST_SKIP() << "python3 is not installed";
  }
  TempDir root;
  root.write("a.txt", "a");
  std::string trigger = root.path() + "/break-listener";
  ServerProcess server(root.path(), {"--workers", "1", "--log-flush", "500ms"}, "127.0.0.1:1",
                       {"/usr/bin/python3", "-c", listener_breaker, trigger});
  {
    Client client(server.port());
    EXPECT_EQ(client.get("/a.txt").body, "a");
  }
  root.write("break-listener", "");
  std::this_thread::sleep_for(1500ms);  // three ticks of 500 ms
  EXPECT_EQ(server.stop(), 0);
  std::string errors = server.stderr_text();
  size_t lines = 0;
  for (size_t at = errors.find("accept: Invalid argument"); at != std::string::npos;
       at = errors.find("accept: Invalid argument", at + 1)) {
    ++lines;
  }
  // One try and one line per tick; re-arming at once logged ~150,000 lines
  // a second and kept the worker spinning.
  EXPECT_GE(lines, 1u) << errors.substr(0, 2000);
  EXPECT_LE(lines, 6u) << errors.substr(0, 2000);
}

uint64_t metric_value(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  return at == std::string::npos ? UINT64_MAX : std::stoull(text.substr(at + name.size() + 2));
}

TEST(Service, MetricsMoveAsRequestsAreServed) {
  TempDir root;
  root.write("a.txt", "hello");
  ServerProcess server(root.path(), {"--metrics-path", "/metrics", "--health-path", "/healthz"});
  Client client(server.port());
  Response before = client.get("/metrics");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(before.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(before.header("Cache-Control"), "no-store");
  EXPECT_NE(before.body.find("# TYPE ringhttpd_responses_total counter"), std::string::npos);
  uint64_t ok_before = metric_value(before.body, "ringhttpd_responses_total{class=\"2xx\"}");
  uint64_t missing_before = metric_value(before.body, "ringhttpd_responses_total{class=\"4xx\"}");
  for (int i = 0; i < 5; ++i) {
    client.get("/a.txt");
  }
  client.get("/missing");
  std::this_thread::sleep_for(1200ms);  // the cache counters are published on each tick
  Response after = client.get("/metrics");
  // Served by either worker, counted across both: 5 files and the first /metrics.
  EXPECT_EQ(metric_value(after.body, "ringhttpd_responses_total{class=\"2xx\"}"), ok_before + 6);
  EXPECT_EQ(metric_value(after.body, "ringhttpd_responses_total{class=\"4xx\"}"), missing_before + 1);
  EXPECT_GE(metric_value(after.body, "ringhttpd_cache_hits_total"), 4u);
  EXPECT_EQ(metric_value(after.body, "ringhttpd_workers"), 2u);
  EXPECT_GE(metric_value(after.body, "ringhttpd_connections_open"), 1u);
  Response health = client.get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(client.get("/healthz", "", "HEAD").header("Content-Length"), "3");
  EXPECT_EQ(server.stop(), 0);
}

TEST(Service, MetricsAreRefusedOutsideTheAllowList) {
  TempDir root;
  ServerProcess server(root.path(), {"--metrics-path", "/metrics", "--metrics-allow", "10.0.0.0/8,::1"});
  Client client(server.port());
  EXPECT_EQ(client.get("/metrics").status, 403);  // 127.0.0.1 is not in 10.0.0.0/8
  ServerProcess open(root.path(), {"--metrics-path", "/m", "--metrics-allow", "127.0.0.1/32"});
  Client allowed(open.port());
  EXPECT_EQ(allowed.get("/m").status, 200);
  EXPECT_EQ(allowed.get("/metrics").status, 404);  // just a missing file there
  for (std::vector<std::string> args : {std::vector<std::string>{"--metrics-allow", "10.0.0.0/33"},
                                        std::vector<std::string>{"--metrics-allow", "example.com"},
                                        std::vector<std::string>{"--metrics-path", "metrics"}}) {
    std::string flag = args[0];
    args.insert(args.begin(), {"--root", root.path()});
    auto [status, text] = run_to_exit(args);
    EXPECT_EQ(status, 2) << text;
    EXPECT_NE(text.find(flag), std::string::npos) << text;
  }
}

TEST(Service, HealthTurns503WhileStopping) {
  TempDir root;
  auto server = std::make_unique<ServerProcess>(root.path(), std::vector<std::string>{"--health-path", "/healthz"});
  // A request under way keeps the stopping server waiting for it (up to
  // --shutdown-timeout); its answer must tell a load balancer to go away.
  Client prober(server->port());
  prober.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Partial: ");
  std::this_thread::sleep_for(100ms);
  std::thread stopper([&] { EXPECT_EQ(server->stop(), 0); });
  std::this_thread::sleep_for(300ms);
  Response health;
  try {
    prober.send("1\r\n\r\n");
    health = prober.read_response();
  } catch (const std::exception& error) {
    ADD_FAILURE() << error.what();
  }
  stopper.join();  // joined on every path
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.body, "stopping\n");
  EXPECT_EQ(health.header("Connection"), "close");
}

TEST(Service, CheckValidatesWithoutServing) {
  TempDir root;
  auto [status, text] = run_to_exit({"--root", root.path(), "--check"});
  EXPECT_EQ(status, 0) << text;
  auto [log_status, log_text] =
      run_to_exit({"--root", root.path(), "--check", "--access-log", root.path() + "/no/such/dir/log"});
  EXPECT_EQ(log_status, 2) << log_text;
  EXPECT_NE(log_text.find("--access-log"), std::string::npos);
  auto [ring_status, ring_text] = run_to_exit({"--root", root.path(), "--check"}, true);
  EXPECT_EQ(ring_status, 1) << ring_text;
  EXPECT_NE(ring_text.find("io_uring is unavailable"), std::string::npos);
  auto [flag_status, flag_text] = run_to_exit({"--root", root.path() + "/missing", "--check"});
  EXPECT_EQ(flag_status, 2) << flag_text;
}

}  // namespace
}  // namespace ringhttpd::test
