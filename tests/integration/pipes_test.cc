// Splice pipes under concurrency: the pool a worker lends pipes from is
// bounded whatever the number of large responses in flight, readers that
// stall cannot hold the pipes the others need, and a peak's pipes are
// closed once idle. Loopback only, bounded in count and time.

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

// Pipe descriptors the process holds now (each pipe is two).
int pipe_fds(pid_t pid) {
  int count = 0;
  std::string directory = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* fds = opendir(directory.c_str())) {
    while (dirent* entry = readdir(fds)) {
      char target[64] = {};
      std::string path = directory + "/" + entry->d_name;
      if (readlink(path.c_str(), target, sizeof target - 1) > 0 && std::string_view(target).starts_with("pipe:")) {
        ++count;
      }
    }
    closedir(fds);
  }
  return count;
}

struct PipesTest : ::testing::Test {
  PipesTest() {
    root.write("a.txt", "a");
    root.write("1m.bin", one_mib);
    root.write("big.bin", random_bytes(16 * 1024 * 1024, 7));
  }
  TempDir root;
  std::string one_mib = random_bytes(1024 * 1024, 3);
};

// `clients` downloads of 1 MiB at once, each checked byte for byte; the
// most pipe descriptors the server held meanwhile.
int most_pipes_during_downloads(const ServerProcess& server, std::string_view expected, int clients) {
  std::atomic<int> done{0};
  std::atomic<int> right{0};
  std::vector<std::thread> downloads;
  for (int i = 0; i < clients; ++i) {
    downloads.emplace_back([&] {
      Client client(server.port());
      for (int round = 0; round < 3; ++round) {
        right += client.get("/1m.bin").body == expected ? 1 : 0;
      }
      ++done;
    });
  }
  int most = 0;
  while (done.load() < clients) {
    most = std::max(most, pipe_fds(server.pid()));
    std::this_thread::sleep_for(2ms);
  }
  for (std::thread& download : downloads) {
    download.join();
  }
  EXPECT_EQ(right.load(), 3 * clients) << "every response byte-exact";
  return most;
}

TEST_F(PipesTest, PipesHeldStayWithinTheBoundWhateverTheConcurrency) {
  ServerProcess server(root.path(), {"--workers", "1", "--cache-body-max", "0", "--max-pipes", "4",
                                     "--log-flush", "100ms", "--metrics-path", "/metrics"});
  // The pool starts with its 4 pipes (and the process has its own few).
  int before = pipe_fds(server.pid());
  int most = most_pipes_during_downloads(server, one_mib, 64);
  // 64 responses at once share those 4 pipes: not one more is made.
  EXPECT_LE(most, before);
  std::this_thread::sleep_for(300ms);  // a tick publishes the counters
  Client client(server.port());
  std::string metrics = client.get("/metrics").body;
  size_t waits = metrics.find("\nringhttpd_pipe_waits_total ");
  ASSERT_NE(waits, std::string::npos) << metrics;
  EXPECT_GT(std::stoull(metrics.substr(waits + 28)), 0u) << "responses waited their turn";
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

TEST_F(PipesTest, StalledReadersHoldNoPipeTheOthersNeed) {
  ServerProcess server(root.path(), {"--workers", "1", "--cache-body-max", "0", "--max-pipes", "2",
                                     "--send-timeout", "60s"});
  // Eight readers ask for 16 MiB each and never read: their sockets fill.
  std::vector<std::unique_ptr<Client>> stalled;
  for (int i = 0; i < 8; ++i) {
    stalled.push_back(std::make_unique<Client>(server.port()));
    int small = 4096;
    setsockopt(stalled.back()->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    stalled.back()->send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  std::this_thread::sleep_for(500ms);
  // Others are still served in full, long before any stalled one times out.
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    Client honest(server.port());
    EXPECT_EQ(honest.get("/1m.bin").body, one_mib);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  stalled.clear();
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(PipesTest, APeaksPipesAreClosedOnceIdle) {
  ServerProcess server(root.path(), {"--workers", "1", "--cache-body-max", "0", "--max-pipes", "32",
                                     "--log-flush", "100ms", "--metrics-path", "/metrics"});
  std::this_thread::sleep_for(300ms);
  int before = pipe_fds(server.pid());
  int most = most_pipes_during_downloads(server, one_mib, 32);
  EXPECT_GT(most, before + 8) << "the peak borrowed more pipes than the pool keeps";
  // Idle through a few ticks: back to what the pool keeps.
  int now = most;
  for (int wait = 0; wait < 40 && now > before; ++wait) {
    std::this_thread::sleep_for(100ms);
    now = pipe_fds(server.pid());
  }
  EXPECT_EQ(now, before);
  Client client(server.port());
  std::string metrics = client.get("/metrics").body;
  EXPECT_NE(metrics.find("\nringhttpd_pipes_open 4\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nringhttpd_pipe_waiters 0\n"), std::string::npos) << metrics;
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace ringhttpd::test
