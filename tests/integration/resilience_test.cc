// Connections under load, faults and attack: the server keeps serving
// honest clients while others are slow, stalled, numerous or hostile.
// Every loop here is bounded in count and time, and targets 127.0.0.1 only.

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/un.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

int thread_count(pid_t pid) {
  int count = 0;
  if (DIR* tasks = opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
    while (dirent* task = readdir(tasks)) {
      count += task->d_name[0] != '.' ? 1 : 0;
    }
    closedir(tasks);
  }
  return count;
}

void shrink_receive_buffer(Client& client) {
  int small = 4096;
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
}

struct ResilienceTest : ::testing::Test {
  ResilienceTest() {
    root.write("a.txt", "a");
    root.write("big.bin", random_bytes(10 * 1024 * 1024, 41));
  }
  TempDir root;
};

TEST_F(ResilienceTest, ClobberingAdmitsNewClientsAtTheLimit) {
  ServerProcess server(root.path(), {"--workers", "1", "--max-connections", "4"});
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<Client>(server.port()));
    EXPECT_EQ(idle.back()->get("/a.txt").body, "a");
    std::this_thread::sleep_for(20ms);  // the first is the longest idle
  }
  Client newcomer(server.port());
  EXPECT_EQ(newcomer.get("/a.txt").body, "a");
  EXPECT_TRUE(idle[0]->closed_by_peer(3s)) << "the longest-idle connection makes room";
  EXPECT_EQ(idle[3]->get("/a.txt").body, "a") << "the others stay";
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

TEST_F(ResilienceTest, ConnectionsOwedAFirstResponseAreNeverClobbered) {
  ServerProcess server(root.path(), {"--workers", "1", "--max-connections", "3"});
  std::vector<std::unique_ptr<Client>> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(std::make_unique<Client>(server.port()));
  }
  std::this_thread::sleep_for(100ms);  // all three accepted, none has asked yet
  Client refused(server.port());
  EXPECT_TRUE(refused.closed_by_peer(3s)) << "full and nobody idle: the newcomer is refused";
  for (auto& client : waiting) {
    EXPECT_EQ(client->get("/a.txt").body, "a");
  }
  EXPECT_EQ(server.stop(), 0);
  EXPECT_NE(server.stderr_text().find("refusing new ones"), std::string::npos);
}

TEST_F(ResilienceTest, SendTimeoutClosesAReaderThatStopsReading) {
  ServerProcess server(root.path(), {"--send-timeout", "1s"});
  Client stalled(server.port());
  shrink_receive_buffer(stalled);
  stalled.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(3500ms);  // never reading: no progress for over 1 s
  auto reading = std::chrono::steady_clock::now();
  std::string received = stalled.read_until_close(5s);
  EXPECT_LT(received.size(), 10u * 1024 * 1024) << "the stalled response was cut";
  // Reset, not closed: the server's send buffer is dropped, not trickled out.
  EXPECT_LT(std::chrono::steady_clock::now() - reading, 10s);
  Client honest(server.port());
  EXPECT_EQ(honest.get("/a.txt").body, "a");
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(ResilienceTest, SighupFlushesTheCacheWithoutDroppingAConnection) {
  ServerProcess server(root.path(), {"--cache-valid", "1h"});
  Client client(server.port());
  EXPECT_EQ(client.get("/a.txt").body, "a");
  std::string temporary = root.write("a.txt.tmp", "b");
  std::filesystem::rename(temporary, root.path() + "/a.txt");
  EXPECT_EQ(client.get("/a.txt").body, "a");  // cached for an hour
  kill(server.pid(), SIGHUP);
  std::string body;
  for (int attempt = 0; attempt < 30 && body != "b"; ++attempt) {
    std::this_thread::sleep_for(100ms);
    body = client.get("/a.txt").body;  // the same connection throughout
  }
  EXPECT_EQ(body, "b");
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

TEST_F(ResilienceTest, ThousandSlowlorisConnectionsDoNotStarveAnHonestClient) {
  ServerProcess server(root.path(), {"--header-timeout", "2s"});
  std::vector<std::unique_ptr<Client>> slow;
  for (int i = 0; i < 1000; ++i) {
    slow.push_back(std::make_unique<Client>(server.port()));
    slow.back()->send("GET / HTTP/1.1\r\nHost: t\r\n");
  }
  auto started = std::chrono::steady_clock::now();
  int served = 0;
  size_t drip = 0;
  while (std::chrono::steady_clock::now() - started < 3s) {
    for (int i = 0; i < 50; ++i, ++drip) {  // one byte more for some of them
      try {
        slow[drip % slow.size()]->send("X");
      } catch (const std::exception&) {
        // closed by the header timeout: expected
      }
    }
    Client honest(server.port());
    EXPECT_EQ(honest.get("/a.txt").body, "a");
    ++served;
  }
  EXPECT_GT(served, 10);
  int closed = 0;
  for (auto& client : slow) {
    closed += client->closed_by_peer(3s) ? 1 : 0;
  }
  EXPECT_EQ(closed, 1000) << "every slowloris connection meets the header timeout";
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

// The most threads a one-worker server runs while 400 slow readers each
// ask for a file of their own at once (opens, STATX and splices on io-wq).
int threads_under_a_burst(const TempDir& root, std::vector<std::string> flags) {
  flags.insert(flags.end(), {"--workers", "1"});
  ServerProcess server(root.path(), flags);
  std::vector<std::unique_ptr<Client>> readers;
  for (int i = 0; i < 400; ++i) {
    readers.push_back(std::make_unique<Client>(server.port()));
    shrink_receive_buffer(*readers.back());
  }
  for (size_t i = 0; i < readers.size(); ++i) {
    readers[i]->send("GET /burst/" + std::to_string(i) + ".bin HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  int most = 0;
  for (int sample = 0; sample < 50; ++sample) {
    most = std::max(most, thread_count(server.pid()));
    std::this_thread::sleep_for(20ms);
  }
  Client honest(server.port());
  EXPECT_EQ(honest.get("/a.txt").body, "a");
  readers.clear();
  EXPECT_EQ(server.stop(), 0);
  return most;
}

TEST_F(ResilienceTest, IoWorkerThreadsStayBoundedWithManySlowReaders) {
  for (int i = 0; i < 400; ++i) {
    root.write("burst/" + std::to_string(i) + ".bin", std::string(200'000, 'b'));
  }
  // main + the worker + at most N io-wq threads for sockets and pipes and
  // min(N, 8) for file I/O.
  EXPECT_LE(threads_under_a_burst(root, {}), 2 + 32 + 8);
  EXPECT_LE(threads_under_a_burst(root, {"--io-threads", "1"}), 2 + 1 + 1);
  // The control: with the cap lifted, the same burst takes more than that.
  EXPECT_GT(threads_under_a_burst(root, {"--io-threads", "4096"}), 2 + 1 + 1);
}

// `count` requests over `threads` clients: half on fresh connections that
// close after one request, half on keep-alive connections.
void churn(uint16_t port, int count, int threads) {
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < count / threads / 2; ++i) {
        Client once(port);
        once.get("/a.txt", "Connection: close\r\n");
      }
      Client kept(port);
      for (int i = 0; i < count / threads / 2; ++i) {
        kept.get(t % 2 == 0 ? "/a.txt" : "/missing");
      }
    });
  }
  for (std::thread& client : clients) {
    client.join();
  }
}

TEST_F(ResilienceTest, MemoryReturnsToItsBaselineAfter100kChurnedRequests) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's quarantine keeps freed memory by design";
#endif
  // The keep-alive half makes 12,500 requests per connection.
  ServerProcess server(root.path(), {"--access-log", "off", "--keepalive-requests", "0"});
  churn(server.port(), 10'000, 4);  // pools and caches reach their working size
  std::this_thread::sleep_for(300ms);
  long baseline = resident_kib(server.pid());
  churn(server.port(), 100'000, 4);
  std::this_thread::sleep_for(300ms);
  long after = resident_kib(server.pid());
  EXPECT_LT(after - baseline, 4 * 1024) << "grew from " << baseline << " KiB to " << after << " KiB";
  EXPECT_EQ(server.stop(), 0);
}

// A connection holds little until its head outgrows the small input buffer,
// and what a peak of them took goes back once they close (before: 34 KiB
// each, zero-filled, kept for good: 9,800 such connections left 352 MB).
TEST_F(ResilienceTest, FiveThousandOneByteConnectionsTakeLittleAndGiveItBack) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's quarantine keeps freed memory by design";
#endif
  constexpr int count = 5000;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max < 2 * count + 200) {
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is " << limit.rlim_max;
  }
  rlimit raised{std::min<rlim_t>(limit.rlim_max, 4 * count), limit.rlim_max};
  setrlimit(RLIMIT_NOFILE, &raised);  // the server inherits it too
  ServerProcess server(root.path(), {"--workers", "1", "--access-log", "off", "--max-connections",
                                     std::to_string(count + 100)});
  for (int i = 0; i < 50; ++i) {
    Client warm(server.port());
    EXPECT_EQ(warm.get("/a.txt").body, "a");
  }
  std::this_thread::sleep_for(1200ms);
  long baseline = resident_kib(server.pid());
  {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < count; ++i) {
      clients.push_back(std::make_unique<Client>(server.port()));
      clients.back()->send("G");
    }
    std::this_thread::sleep_for(1000ms);
    long peak = resident_kib(server.pid());
    EXPECT_LT((peak - baseline) * 1024 / count, 8 * 1024)
        << "bytes per connection; RSS " << baseline << " -> " << peak << " KiB";
  }
  // Closed: the pools free what the last tick did not use, and the pages go back.
  long after = 0;
  for (int wait = 0; wait < 50; ++wait) {
    std::this_thread::sleep_for(100ms);
    after = resident_kib(server.pid());
    if (after < baseline + 4 * 1024) {
      break;
    }
  }
  EXPECT_LT(after, baseline + 4 * 1024) << "RSS " << baseline << " KiB before, " << after << " after";
  setrlimit(RLIMIT_NOFILE, &limit);
  EXPECT_EQ(server.stop(), 0);
}

// A head that outgrows the small input buffer moves to a large one, in
// whatever pieces it arrives, and pipelined requests behind it still parse.
TEST_F(ResilienceTest, HeadsLongerThanTheSmallBufferAreServed) {
  ServerProcess server(root.path(), {"--workers", "1"});
  std::string long_field = "X-Long: " + std::string(10'000, 'l') + "\r\n";
  std::string request = "GET /a.txt HTTP/1.1\r\nHost: t\r\n" + long_field + "\r\n";
  Client dribbled(server.port());
  for (size_t at = 0; at < request.size(); at += 1500) {
    dribbled.send(request.substr(at, 1500));
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(dribbled.read_response().body, "a");
  EXPECT_EQ(dribbled.get("/a.txt").body, "a");  // and the connection goes on
  Client pipelined(server.port());
  pipelined.send(request + "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n" + request);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pipelined.read_response().body, "a") << i;
  }
}

// A UNIX socket in the docroot cannot be opened (ENXIO): every request for
// it is a 500 and, without a bound, a line in the error log.
void put_broken_file(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  close(fd);  // the socket file stays
}

TEST_F(ResilienceTest, AFloodOfFailingRequestsCostsAFewLogLines) {
  put_broken_file(root.path() + "/broken.sock");
  ServerProcess server(root.path(), {"--workers", "1"});
  Client client(server.port());
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(client.get("/broken.sock").status, 500);
  }
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(client.get("/broken.sock").status, 500);  // the budget has refilled: said, with the count
  EXPECT_EQ(server.stop(), 0);
  std::string text = server.stderr_text();
  size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  EXPECT_LE(lines, 40u) << text.substr(0, 3000);
  EXPECT_NE(text.find("log lines suppressed (more than 10 a second)"), std::string::npos) << text.substr(0, 3000);
}

// stderr a pipe nobody reads (journald stuck, say): a line that cannot be
// written is lost and counted; it never stops the worker's loop.
TEST_F(ResilienceTest, AFullStderrNeverStopsServing) {
  put_broken_file(root.path() + "/broken.sock");
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);  // inheritable: the server's stderr
  // Filled through a file description of its own, so the server's stays blocking.
  int filler = open(("/proc/self/fd/" + std::to_string(pipe_fds[1])).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(filler, 0);
  std::string chunk(4096, 'f');
  while (write(filler, chunk.data(), chunk.size()) > 0) {
  }
  ServerProcess server(root.path(), {"--workers", "1"}, "127.0.0.1:0",
                       {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&" + std::to_string(pipe_fds[1])});
  auto started = std::chrono::steady_clock::now();
  Client client(server.port());
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(client.get("/broken.sock").status, 500);
  }
  EXPECT_EQ(client.get("/a.txt").body, "a");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(server.stop(), 0);
  close(filler);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

// Every io_uring_enter failing (strace injects EAGAIN, as a kernel out of
// memory for requests would answer): the worker backs off instead of
// calling again at once, and serves again once the calls succeed.
TEST_F(ResilienceTest, FailingIoUringEnterDoesNotSpinAWorker) {
  const std::string strace = "/usr/bin/strace";
  if (access(strace.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "strace is not installed";
  }
  ServerProcess server(root.path(), {"--workers", "1"});
  TempDir traces;
  std::string trace = traces.path() + "/trace";
  std::string pid = std::to_string(server.pid());
  auto [status, text] = run_command({"/usr/bin/timeout", "-s", "INT", "1.5", strace, "-f", "-p", pid,
                                     "-e", "trace=io_uring_enter", "-e",
                                     "inject=io_uring_enter:error=EAGAIN", "-o", trace});
  std::string traced = read_file(trace);
  if (traced.find("io_uring_enter") == std::string::npos) {
    GTEST_SKIP() << "strace could not attach: " << text;
  }
  size_t calls = 0;
  for (size_t at = traced.find("io_uring_enter("); at != std::string::npos;
       at = traced.find("io_uring_enter(", at + 1)) {
    ++calls;
  }
  EXPECT_LT(calls, 200u) << "io_uring_enter calls in 1.5 s of failures";
  Client client(server.port());
  EXPECT_EQ(client.get("/a.txt").body, "a");  // detached: serving again
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(ResilienceTest, AcceptSurvivesRunningOutOfDescriptors) {
  // 48 descriptors in all: the server itself needs about 30, so clients
  // soon meet EMFILE at accept.
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit tight{48, saved.rlim_max};  // the soft limit only: it can be raised back
  setrlimit(RLIMIT_NOFILE, &tight);
  // An explicit connection limit: the one derived from 48 descriptors (16)
  // would refuse clients before accept meets EMFILE, or not, by timing.
  auto server = std::make_unique<ServerProcess>(
      root.path(), std::vector<std::string>{"--workers", "1", "--max-connections", "1000"});
  setrlimit(RLIMIT_NOFILE, &saved);
  std::vector<std::unique_ptr<Client>> crowd;
  for (int i = 0; i < 60; ++i) {
    crowd.push_back(std::make_unique<Client>(server->port()));  // the kernel queues them
  }
  std::this_thread::sleep_for(500ms);
  crowd.clear();
  std::this_thread::sleep_for(1500ms);  // a tick or two: accepts re-armed
  Client after(server->port());
  EXPECT_EQ(after.get("/a.txt").body, "a");
  EXPECT_EQ(server->stop(), 0);
  std::string text = server->stderr_text();
  EXPECT_NE(text.find("pausing accepts"), std::string::npos) << text;
  EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 6) << "said once, not per attempt:\n" << text;
}

TEST_F(ResilienceTest, SigtermDuringA100MiBDownloadCompletesIt) {
  std::string big = random_bytes(100 * 1024 * 1024, 42);
  root.write("huge.bin", big);
  auto server = std::make_unique<ServerProcess>(root.path());
  Client client(server->port());
  client.send("GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  char first[1];
  ASSERT_EQ(recv(client.fd(), first, 1, MSG_PEEK), 1);
  std::thread stopper([&] { EXPECT_EQ(server->stop(), 0); });
  Response response = client.read_response();
  EXPECT_EQ(response.body.size(), big.size());
  EXPECT_TRUE(response.body == big);
  stopper.join();
  expect_clean_stderr(server->stderr_text());
}

}  // namespace
}  // namespace ringhttpd::test
