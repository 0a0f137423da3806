// What strict clients and attackers found, each row naming the rule it
// holds to, against the real binary: Expect, redirects, userinfo,
// Content-Length, chunked bodies, precompressed 304s, Range on HEAD, dates
// from the future, Accept-Encoding weights, vhost case, --max-headers, and
// heads that arrive a byte at a time.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

struct Row {
  const char* rule;     // where the behaviour is specified
  std::string request;  // bytes sent, whole
  int status;
  bool stays_open;      // the connection is kept after the answer
  std::vector<std::pair<std::string, std::string>> fields = {};  // expected; "" means absent
};

void check(uint16_t port, const Row& row) {
  Client client(port);
  client.send(row.request);
  Response response = client.read_response(row.request.starts_with("HEAD "));
  EXPECT_EQ(response.status, row.status) << row.rule;
  for (const auto& [name, value] : row.fields) {
    if (value.empty()) {
      EXPECT_FALSE(response.header(name).has_value()) << row.rule << ": " << name;
    } else {
      EXPECT_EQ(response.header(name), value) << row.rule << ": " << name;
    }
  }
  if (row.stays_open) {
    EXPECT_EQ(client.get("/a.txt").body, "a") << row.rule << ": the connection stays in step";
  } else {
    EXPECT_EQ(response.header("Connection"), "close") << row.rule;
    EXPECT_TRUE(client.closed_by_peer(2000ms)) << row.rule;
  }
}

struct RfcTest : ::testing::Test {
  RfcTest() {
    root.write("a.txt", "a");
    root.write("docs/index.html", "docs");
    root.mkdir("a\\b");
    root.write("app.js", std::string(500, 'j'));
    root.write("app.js.br", "BR");
    root.write("app.js.gz", "GZ");
    root.write("pic.png", "png");
    root.mkdir("pic.png.br");  // a directory, not a sibling
    root.write("big.bin", std::string(10'000, 'x'));
    std::string future = root.write("future.txt", "later");
    timespec ahead[2] = {{time(nullptr) + 86400 * 30, 0}, {time(nullptr) + 86400 * 30, 0}};
    utimensat(AT_FDCWD, future.c_str(), ahead, 0);
  }
  TempDir root;
};

TEST_F(RfcTest, FramingAndTargets) {
  ServerProcess server(root.path());
  std::vector<Row> rows = {
      {"RFC 9110 §10.1.1: a body held back for 100 Continue is not waited for",
       "POST /a.txt HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n", 405,
       false},
      {"RFC 9110 §10.1.1, GET: answered at once, then closed",
       "GET /a.txt HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", 200, false},
      {"RFC 9110 §10.1.1: an expectation that cannot be met is 417",
       "GET /a.txt HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n\r\n", 417, false},
      {"RFC 9110 §10.1.1: Expect without a body changes nothing",
       "GET /a.txt HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n", 200, true},
      {"RFC 9110 §4.2.4: userinfo in the target is an error",
       "GET http://other.com:80@example.com/a.txt HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, false},
      {"RFC 9110 §8.6: Content-Length is one field of digits: ',5'",
       "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ,5\r\n\r\n12345", 400, false},
      {"RFC 9110 §8.6: '5,'", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5,\r\n\r\n12345", 400,
       false},
      {"RFC 9110 §8.6: '5,5'", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5,5\r\n\r\n12345", 400,
       false},
      {"RFC 9110 §8.6: two fields, even equal",
       "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n12345", 400, false},
      {"RFC 9112 §7.1: a chunked body is read, and the connection stays in step",
       "GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n3;ext=1\r\nGET\r\n0\r\nX-Trailer: y\r\n\r\n",
       200, true},
      {"RFC 9112 §7.1: the same for a method answered 405",
       "POST /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 405, true},
      {"RFC 9112 §7.1: a bad chunk size is 400",
       "GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n",
       400, false},
      {"RFC 9112 §7.1: chunked data without its CRLF is 400",
       "GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!!\r\n0\r\n\r\n",
       400, false},
      {"RFC 9110 §14.2: Range is ignored for HEAD",
       "HEAD /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n", 200, true,
       {{"Content-Length", "10000"}, {"Content-Range", ""}}},
      {"RFC 9110 §14.2: and honoured for GET", "GET /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n",
       206, true, {{"Content-Range", "bytes 0-9/10000"}}},
  };
  for (const Row& row : rows) {
    check(server.port(), row);
  }
}

TEST_F(RfcTest, RedirectsNeverLeaveTheOrigin) {
  ServerProcess server(root.path());
  Client client(server.port());
  // "\\evil.com\%2F..%2Fdocs" normalises to "/docs"; its raw last segment
  // in Location ("\\evil.com...") reads as "//evil.com" to a browser.
  Response tricked = client.get("/%5C%5Cevil.com%5C%2F..%2Fdocs");
  EXPECT_EQ(tricked.status, 301);
  EXPECT_EQ(tricked.header("Location"), "docs/");
  Response raw = client.get("/\\\\evil.com\\%2F..%2Fdocs");
  EXPECT_EQ(raw.status, 301);
  EXPECT_EQ(raw.header("Location"), "docs/");
  Response backslash = client.get("/a%5Cb");  // a directory with a backslash in its name
  EXPECT_EQ(backslash.status, 301);
  EXPECT_EQ(backslash.header("Location"), "a%5Cb/");
  EXPECT_EQ(client.get("/a%5Cb/").status, 403);  // its Location names it again
}

TEST_F(RfcTest, Representations) {
  ServerProcess server(root.path());
  Client client(server.port());
  // RFC 9110 §12.5.3: the highest weight wins over the server's order.
  Response weighted = client.get("/app.js", "Accept-Encoding: br;q=0.1, gzip\r\n");
  EXPECT_EQ(weighted.header("Content-Encoding"), "gzip");
  EXPECT_EQ(weighted.body, "GZ");
  EXPECT_EQ(client.get("/app.js", "Accept-Encoding: gzip, br\r\n").header("Content-Encoding"), "br");
  // RFC 9110 §15.4.5: a 304 SHOULD NOT carry representation metadata such
  // as Content-Encoding; it keeps Vary and the variant's ETag.
  Response encoded = client.get("/app.js", "Accept-Encoding: br\r\n");
  Response not_modified = client.get(
      "/app.js", "Accept-Encoding: br\r\nIf-None-Match: " + encoded.header("ETag").value_or("") + "\r\n");
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_FALSE(not_modified.header("Content-Encoding"));
  EXPECT_EQ(not_modified.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(not_modified.header("ETag"), encoded.header("ETag"));
  // A sibling that is a directory is no sibling.
  Response picture = client.get("/pic.png", "Accept-Encoding: br\r\n");
  EXPECT_EQ(picture.body, "png");
  EXPECT_FALSE(picture.header("Content-Encoding"));
  // RFC 9110 §8.8.2.1: a modification time later than now is sent as now.
  Response future = client.get("/future.txt");
  EXPECT_EQ(future.header("Last-Modified"), future.header("Date"));
}

TEST_F(RfcTest, VhostNamesMatchWithoutCaseAndMaxHeadersIsAFlag) {
  root.write("Example.COM/index.html", "mixed case");
  ServerProcess server(root.path(), {"--vhosts", "--max-headers", "5"});
  Client client(server.port());
  // RFC 9110 §4.2.3: a host name is compared without regard to case.
  client.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(client.read_response().body, "mixed case");
  Client crowded(server.port());
  crowded.send("GET / HTTP/1.1\r\nHost: example.com\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n");
  EXPECT_EQ(crowded.read_response().status, 431);
}

// A head dribbled a byte at a time is parsed once a line (not re-parsed
// from its first byte on every receive): still answered, and a broken line
// in it still refused as soon as that line is in.
TEST_F(RfcTest, HeadsDribbledAByteAtATime) {
  ServerProcess server(root.path(), {"--workers", "1"});
  std::string head = "GET /a.txt HTTP/1.1\r\nHost: t\r\nX-Padding: " + std::string(2000, 'p') + "\r\n\r\n";
  Client dribbled(server.port());
  for (char c : head) {
    dribbled.send(std::string(1, c));
  }
  EXPECT_EQ(dribbled.read_response().body, "a");
  Client broken(server.port());
  broken.send("GET /a.txt HTTP/1.1\r\nHost: t\r\nBad\x01Field: x\r\n");  // more would follow
  Response refused = broken.read_response();
  EXPECT_EQ(refused.status, 400);
}

}  // namespace
}  // namespace ringhttpd::test
