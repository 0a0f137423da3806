// The open-file cache seen from outside: what a deploy (rename over, delete,
// create) looks like to clients, and eviction under an in-flight response.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

// --cache-valid 1s; waiting past it (plus the clock's coarseness) must make
// every change visible. Requests made right after one another stay inside
// the window, which shows the cache really answered them.
constexpr auto past_validity = 1300ms;

struct CacheTest : ::testing::Test {
  void start(std::vector<std::string> flags = {"--cache-valid", "1s"}) {
    server = std::make_unique<ServerProcess>(root.path(), flags);
  }
  void TearDown() override {
    if (server) {
      EXPECT_EQ(server->stop(), 0);
      expect_clean_stderr(server->stderr_text());
    }
  }
  // deploys publish by writing a temporary file and renaming it over
  void publish(const std::string& name, const std::string& contents) {
    std::string temporary = root.write(name + ".tmp", contents);
    std::filesystem::rename(temporary, root.path() + "/" + name);
  }
  TempDir root;
  std::unique_ptr<ServerProcess> server;
};

TEST_F(CacheTest, RenameReplacementIsServedWithinTheValidityWindow) {
  publish("app.js", "version 1");
  start();
  Client client(server->port());
  Response first = client.get("/app.js");
  EXPECT_EQ(first.body, "version 1");
  publish("app.js", "version two");
  EXPECT_EQ(client.get("/app.js").body, "version 1");  // cached: the old inode, still open
  std::this_thread::sleep_for(past_validity);
  Response after = client.get("/app.js");
  EXPECT_EQ(after.body, "version two");
  EXPECT_EQ(after.header("Content-Length"), "11");
  EXPECT_NE(after.header("ETag"), first.header("ETag"));
}

TEST_F(CacheTest, SmallBodyRewrittenInPlaceIsReread) {
  root.write("data.json", "{\"v\":1}");
  start();
  Client client(server->port());
  EXPECT_EQ(client.get("/data.json").body, "{\"v\":1}");
  std::this_thread::sleep_for(10ms);  // a later mtime, whatever the clock's granularity
  root.write("data.json", "{\"v\":2}");  // same inode, same size
  std::this_thread::sleep_for(past_validity);
  EXPECT_EQ(client.get("/data.json").body, "{\"v\":2}");
}

TEST_F(CacheTest, DeletedFileBecomes404) {
  root.write("old.html", "old");
  start();
  Client client(server->port());
  EXPECT_EQ(client.get("/old.html").status, 200);
  std::filesystem::remove(root.path() + "/old.html");
  std::this_thread::sleep_for(past_validity);
  EXPECT_EQ(client.get("/old.html").status, 404);
}

TEST_F(CacheTest, NegativeEntriesExpire) {
  start();
  Client client(server->port());
  EXPECT_EQ(client.get("/later.txt").status, 404);
  root.write("later.txt", "here now");
  EXPECT_EQ(client.get("/later.txt").status, 404);  // the remembered miss
  std::this_thread::sleep_for(past_validity);
  EXPECT_EQ(client.get("/later.txt").body, "here now");
}

TEST_F(CacheTest, DirectoryAnswersAreCachedAndExpire) {
  root.mkdir("docs");
  start();
  Client client(server->port());
  EXPECT_EQ(client.get("/docs/").status, 403);  // no index yet
  EXPECT_EQ(client.get("/docs").header("Location"), "docs/");
  root.write("docs/index.html", "docs home");
  std::this_thread::sleep_for(past_validity);
  EXPECT_EQ(client.get("/docs/").body, "docs home");
  EXPECT_EQ(client.get("/docs").status, 301);
}

TEST_F(CacheTest, ZeroEntriesServesWithoutCaching) {
  root.write("live.txt", "one");
  start({"--cache-entries", "0"});
  Client client(server->port());
  EXPECT_EQ(client.get("/live.txt").body, "one");
  publish("live.txt", "two");
  EXPECT_EQ(client.get("/live.txt").body, "two");  // no window: nothing was kept
  EXPECT_EQ(client.get("/nothing").status, 404);
}

// uring/KERNEL.md, "Splices resolve descriptors late": a splice resolves its fd when it runs. If eviction closed the
// fd of a file still being sent, the next file opened would reuse the
// number, and the rest of the response would be that file's bytes.
TEST_F(CacheTest, EvictionDuringAnInFlightResponseStillSendsTheRightBytes) {
  std::string big = random_bytes(10 * 1024 * 1024, 11);
  root.write("big.bin", big);
  for (int i = 0; i < 64; ++i) {
    root.write("small/" + std::to_string(i), random_bytes(100'000 + static_cast<size_t>(i), 100 + i));
  }
  start({"--cache-entries", "1", "--workers", "1", "--cache-body-max", "0"});
  Client downloader(server->port());
  int small_buffer = 16 * 1024;
  setsockopt(downloader.fd(), SOL_SOCKET, SO_RCVBUF, &small_buffer, sizeof small_buffer);
  downloader.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  char peek[1];
  ASSERT_EQ(recv(downloader.fd(), peek, 1, MSG_PEEK), 1);  // the response has begun
  Client churn(server->port());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 64; ++i) {  // each one evicts the previous entry
      Response response = churn.get("/small/" + std::to_string(i));
      ASSERT_EQ(response.body.size(), 100'000u + static_cast<size_t>(i));
    }
  }
  Response response = downloader.read_response();
  ASSERT_EQ(response.body.size(), big.size());
  EXPECT_TRUE(response.body == big) << "bytes of another file were sent";
}

// The descriptors of a process whose target names `fragment`.
size_t open_fds_naming(pid_t pid, const std::string& fragment) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code error;
    std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    count += !error && target.find(fragment) != std::string::npos ? 1 : 0;
  }
  return count;
}

uint64_t metric(Client& client, const std::string& name) {
  std::string text = client.get("/metrics").body;
  size_t at = text.find("\n" + name + " ");
  return at == std::string::npos ? UINT64_MAX : std::stoull(text.substr(at + name.size() + 2));
}

TEST_F(CacheTest, ADeletedFileIsNotKeptOpenPastCacheIdle) {
  root.write("gone.txt", std::string(100'000, 'g'));  // above --cache-body-max: kept open, not read
  start({"--cache-valid", "30s", "--cache-idle", "1s", "--workers", "1"});
  Client client(server->port());
  EXPECT_EQ(client.get("/gone.txt").status, 200);
  std::filesystem::remove(root.path() + "/gone.txt");
  EXPECT_EQ(open_fds_naming(server->pid(), "gone.txt"), 1u);  // still cached: its blocks too
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(open_fds_naming(server->pid(), "gone.txt"), 0u);
}

// The response is over: the connection kept alive holds no reference to
// the file it served, so once the cache lets go of it (a reload here) its
// descriptor closes while the connection stays open.
TEST_F(CacheTest, AKeptAliveConnectionDoesNotPinTheFileItServed) {
  root.write("served.bin", std::string(200'000, 's'));  // above --cache-body-max: sent by splice
  start({"--cache-valid", "60s", "--workers", "1"});
  Client client(server->port());
  EXPECT_EQ(client.get("/served.bin").body.size(), 200'000u);
  std::filesystem::remove(root.path() + "/served.bin");
  kill(server->pid(), SIGHUP);  // the cache lets go
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(open_fds_naming(server->pid(), "served.bin"), 0u);
  EXPECT_EQ(client.get("/served.bin").status, 404);  // the same connection, still open
}

TEST_F(CacheTest, AFloodOfMissesLeavesTheHotFilesCached) {
  for (int i = 0; i < 20; ++i) {
    root.write("hot/" + std::to_string(i) + ".txt", "hot");
  }
  start({"--cache-valid", "60s", "--cache-entries", "50", "--workers", "1", "--metrics-path",
         "/metrics", "--keepalive-requests", "0"});
  Client client(server->port());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.get("/hot/" + std::to_string(i) + ".txt").body, "hot");
  }
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(client.get("/probe/" + std::to_string(i) + ".php").status, 404);
  }
  std::this_thread::sleep_for(1200ms);  // counters are published on the tick
  uint64_t misses = metric(client, "ringhttpd_cache_misses_total");
  uint64_t hits = metric(client, "ringhttpd_cache_hits_total");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.get("/hot/" + std::to_string(i) + ".txt").body, "hot");
  }
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(metric(client, "ringhttpd_cache_misses_total"), misses);  // none of them left
  EXPECT_EQ(metric(client, "ringhttpd_cache_hits_total"), hits + 20);
}

TEST_F(CacheTest, SiblingLookupsAreNotCountedAsRequests) {
  root.write("app.js", "js");  // no .br, .zst or .gz beside it
  start({"--workers", "1", "--metrics-path", "/metrics"});
  Client client(server->port());
  for (int i = 0; i < 10; ++i) {
    client.get("/app.js", "Accept-Encoding: br, zstd, gzip\r\n");
  }
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(metric(client, "ringhttpd_cache_hits_total") + metric(client, "ringhttpd_cache_misses_total"),
            10u);  // one lookup per request, though three siblings were looked for each time
}

}  // namespace
}  // namespace ringhttpd::test
