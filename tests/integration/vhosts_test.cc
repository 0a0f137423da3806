// --vhosts: ROOT/<host>/ by the Host header, ROOT/_default/ for the rest.

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

struct VhostsTest : ::testing::Test {
  VhostsTest() {
    root.write("example.com/index.html", "example");
    root.write("example.com/assets/app.js", "app();");
    root.write("other.org/index.html", "other");
    root.write("_default/index.html", "default");
  }
  std::string body_for(Client& client, const std::string& request) {
    client.send(request);
    return client.read_response().body;
  }
  TempDir root;
};

TEST_F(VhostsTest, HostChoosesTheDirectory) {
  ServerProcess server(root.path(), {"--vhosts", "--header", "/assets/: X-Asset: yes"});
  Client client(server.port());
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), "example");
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: EXAMPLE.com:8080\r\n\r\n"), "example");
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n"), "example");
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: other.org\r\n\r\n"), "other");
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: unknown.net\r\n\r\n"), "default");
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: ..\r\n\r\n"), "default");
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), "default");
  // absolute-form: the target's authority wins over Host (RFC 9112 §3.2.2)
  EXPECT_EQ(body_for(client, "GET http://other.org/ HTTP/1.1\r\nHost: example.com\r\n\r\n"), "other");
  // ... whatever the case of its scheme (RFC 9110 §4.2.1), as the path is read
  EXPECT_EQ(body_for(client, "GET HTTP://other.org/ HTTP/1.1\r\nHost: example.com\r\n\r\n"), "other");
  // Rules match the site's path, without the host directory.
  client.send("GET /assets/app.js HTTP/1.1\r\nHost: example.com\r\n\r\n");
  Response asset = client.read_response();
  EXPECT_EQ(asset.body, "app();");
  EXPECT_EQ(asset.header("X-Asset"), "yes");
  // A host cannot reach another host's files.
  client.send("GET /../other.org/index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 400);
  client.send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 400);  // HTTP/1.1 without Host
  Client old(server.port());
  old.send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.read_response().body, "default");
}

TEST_F(VhostsTest, NoDefaultMeansUnknownHostsAre404) {
  std::filesystem::remove_all(root.path() + "/_default");
  ServerProcess server(root.path(), {"--vhosts"});
  Client client(server.port());
  client.send("GET / HTTP/1.1\r\nHost: unknown.net\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 404);
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), "example");
}

TEST_F(VhostsTest, AHostAddedWhileRunningIsServed) {
  ServerProcess server(root.path(), {"--vhosts", "--cache-valid", "1s"});
  Client client(server.port());
  EXPECT_EQ(body_for(client, "GET / HTTP/1.1\r\nHost: new.site\r\n\r\n"), "default");
  root.write("new.site/index.html", "new");
  std::string body;
  for (int attempt = 0; attempt < 40 && body != "new"; ++attempt) {
    std::this_thread::sleep_for(100ms);
    body = body_for(client, "GET /index.html HTTP/1.1\r\nHost: new.site\r\n\r\n");
  }
  EXPECT_EQ(body, "new") << "not seen within 4 s of a 1 s rescan";
}

}  // namespace
}  // namespace ringhttpd::test
