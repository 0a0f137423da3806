// The open-file cache seen from outside: what a deploy (rename over, delete,
// create) looks like to clients, and eviction under an in-flight response.

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace ringhttpd::test
