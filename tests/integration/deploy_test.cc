// Deploys as users do them: a `current -> releases/N` symlink renamed over,
// or `mv www.new www`, with or without a SIGHUP, with the old release
// deleted afterwards; with --vhosts too.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Renames a new symlink over `link`, atomically, as deploy tools do.
void point(const std::string& link, const std::string& target) {
  std::string staging = link + ".new";
  fs::remove(staging);
  fs::create_directory_symlink(target, staging);
  fs::rename(staging, link);
}

// GETs `target` until its body is `wanted` or `limit` passes; the last body.
std::string body_within(uint16_t port, const std::string& target, const std::string& wanted,
                        std::chrono::milliseconds limit, const std::string& host = "a") {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string body;
  do {
    Client client(port);
    client.send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    body = client.read_response().body;
    if (body == wanted) {
      return body;
    }
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return body;
}

// The targets of the process's descriptors that name `fragment`.
std::vector<std::string> open_paths_naming(pid_t pid, const std::string& fragment) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code error;
    std::string target = fs::read_symlink(entry.path(), error).string();
    if (!error && target.find(fragment) != std::string::npos) {
      found.push_back(target);
    }
  }
  return found;
}

TEST(Deploy, ASymlinkSwapIsServedWithinCacheValidAndTheOldReleaseMayGo) {
  TempDir root;
  root.write("releases/1/index.html", "one");
  root.write("releases/1/old-only.txt", "old");
  root.write("releases/2/index.html", "two");
  point(root.path() + "/current", "releases/1");
  ServerProcess server(root.path() + "/current", {"--cache-valid", "1s"});
  EXPECT_EQ(body_within(server.port(), "/", "one", 0ms), "one");
  EXPECT_EQ(body_within(server.port(), "/old-only.txt", "old", 0ms), "old");
  point(root.path() + "/current", "releases/2");
  EXPECT_EQ(body_within(server.port(), "/", "two", 3000ms), "two");  // no SIGHUP needed
  fs::remove_all(root.path() + "/releases/1");
  Client client(server.port());
  EXPECT_EQ(client.get("/").body, "two");
  EXPECT_EQ(client.get("/old-only.txt").status, 404);
  // Nothing of the deleted release stays open: its directory, its files.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(open_paths_naming(server.pid(), "releases/1"), std::vector<std::string>{});
}

TEST(Deploy, SighupTakesADirectoryMovedIntoPlace) {
  TempDir root;
  root.write("www/index.html", "before");
  root.write("www.new/index.html", "after");
  // A long --cache-valid: only the reload can make the new files appear soon.
  ServerProcess server(root.path() + "/www", {"--cache-valid", "60s"});
  EXPECT_EQ(body_within(server.port(), "/", "before", 0ms), "before");
  fs::rename(root.path() + "/www", root.path() + "/www.old");
  fs::rename(root.path() + "/www.new", root.path() + "/www");
  kill(server.pid(), SIGHUP);
  EXPECT_EQ(body_within(server.port(), "/", "after", 2500ms), "after");
  fs::remove_all(root.path() + "/www.old");
  EXPECT_EQ(body_within(server.port(), "/", "after", 0ms), "after");
}

TEST(Deploy, VhostsAreListedFromTheDirectoryServed) {
  TempDir root;
  root.write("releases/1/a.test/index.html", "a1");
  root.write("releases/2/a.test/index.html", "a2");
  root.write("releases/2/b.test/index.html", "b2");
  point(root.path() + "/current", "releases/1");
  ServerProcess server(root.path() + "/current", {"--vhosts", "--cache-valid", "1s"});
  EXPECT_EQ(body_within(server.port(), "/", "a1", 0ms, "a.test"), "a1");
  point(root.path() + "/current", "releases/2");
  EXPECT_EQ(body_within(server.port(), "/", "b2", 3000ms, "b.test"), "b2");
  EXPECT_EQ(body_within(server.port(), "/", "a2", 0ms, "a.test"), "a2");
}

TEST(Deploy, ADownloadUnderWayFinishesFromTheOldRelease) {
  TempDir root;
  std::string old_bytes = random_bytes(16 << 20, 7);  // more than the socket buffers hold
  root.write("releases/1/big.bin", old_bytes);
  root.write("releases/2/big.bin", "new");
  point(root.path() + "/current", "releases/1");
  ServerProcess server(root.path() + "/current", {"--cache-valid", "1s"});
  Client slow(server.port());
  int small = 65536;
  setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  slow.send("GET /big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  std::this_thread::sleep_for(200ms);
  point(root.path() + "/current", "releases/2");
  EXPECT_EQ(body_within(server.port(), "/big.bin", "new", 3000ms), "new");
  fs::remove_all(root.path() + "/releases/1");
  Response response = slow.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body == old_bytes) << "body differs; " << response.body.size() << " bytes";
}

}  // namespace
}  // namespace ringhttpd::test
