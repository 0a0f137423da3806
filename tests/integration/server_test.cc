// Black-box tests: the real ringhttpd binary on an ephemeral loopback port,
// spoken to over real sockets (and with curl where a real client helps).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/tcp.h>  // tcp_info with tcpi_segs_in, which glibc's lacks
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

constexpr size_t ten_mib = 10 * 1024 * 1024;

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root = new TempDir();
    root->write("index.html", "<h1>home</h1>\n");
    root->write("empty.bin", "");
    root->write("one.bin", "x");
    root->write("4k.bin", random_bytes(4096, 1));
    root->write("64k1.bin", random_bytes(65537, 2));
    root->write("10m.bin", random_bytes(ten_mib, 3));
    root->write("style.css", "body{}\n");
    root->write("logo.svg", "<svg/>\n");
    root->write("app.wasm", std::string("\0asm", 4));
    root->write("sub/index.html", "sub index\n");
    root->write("sub/deeper/index.htm", "htm index\n");
    root->write("sub/page.txt", "page\n");
    root->mkdir("noindex");
    root->write("a:b/index.html", "colon\n");
    for (int i = 0; i < 100; ++i) {
      root->write("p/" + std::to_string(i), "file " + std::to_string(i) + "\n");
    }
    outside = new TempDir();
    outside->write("secret.txt", "secret\n");
    std::filesystem::create_symlink(outside->path() + "/secret.txt", root->path() + "/abs-link");
    std::filesystem::create_symlink("../../" + std::filesystem::path(outside->path()).filename().string() +
                                        "/secret.txt",
                                    root->path() + "/sub/rel-link");
    std::filesystem::create_symlink("sub/page.txt", root->path() + "/inside-link");
    mkfifo((root->path() + "/fifo").c_str(), 0644);
    server = new ServerProcess(root->path());
  }

  static void TearDownTestSuite() {
    EXPECT_EQ(server->stop(), 0);
    expect_clean_stderr(server->stderr_text());
    delete server;
    delete outside;
    delete root;
  }

  static std::string file(const std::string& relative) {
    return read_file(root->path() + "/" + relative);
  }

  static inline TempDir* root = nullptr;
  static inline TempDir* outside = nullptr;
  static inline ServerProcess* server = nullptr;
};

TEST_F(ServerTest, BodiesAreByteExact) {
  Client client(server->port());
  for (const char* name : {"empty.bin", "one.bin", "4k.bin", "64k1.bin", "10m.bin"}) {
    Response response = client.get(std::string("/") + name);
    std::string expected = file(name);
    EXPECT_EQ(response.status, 200) << name;
    EXPECT_EQ(response.header("Content-Length"), std::to_string(expected.size())) << name;
    EXPECT_EQ(response.header("Content-Type"), "application/octet-stream") << name;
    ASSERT_EQ(response.body.size(), expected.size()) << name;
    EXPECT_TRUE(response.body == expected) << name << ": body differs";
  }
}

TEST_F(ServerTest, ResponseHeaders) {
  Client client(server->port());
  Response response = client.get("/index.html");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "<h1>home</h1>\n");
  EXPECT_EQ(response.header("Server"), "ringhttpd");
  EXPECT_EQ(response.header("Content-Type"), "text/html");
  EXPECT_EQ(response.header("Accept-Ranges"), "bytes");
  ASSERT_TRUE(response.header("Date"));
  EXPECT_EQ(response.header("Date")->size(), 29u);
  EXPECT_TRUE(response.header("Date")->ends_with(" GMT"));
  ASSERT_TRUE(response.header("Last-Modified"));
  ASSERT_TRUE(response.header("ETag"));
  EXPECT_EQ(response.header("ETag")->front(), '"');
  EXPECT_FALSE(response.header("Connection"));  // HTTP/1.1 keep-alive is the default
  EXPECT_EQ(client.get("/style.css").header("Content-Type"), "text/css");
  EXPECT_EQ(client.get("/logo.svg").header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(client.get("/app.wasm").header("Content-Type"), "application/wasm");
}

TEST_F(ServerTest, HeadHasTheHeadersOfGetAndNoBody) {
  Client client(server->port());
  Response get = client.get("/64k1.bin");
  Response head = client.get("/64k1.bin", "", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "65537");
  for (const char* name : {"Content-Type", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges"}) {
    EXPECT_EQ(head.header(name), get.header(name)) << name;
  }
  // Had a body followed the HEAD response, this would read it as a head.
  Response next = client.get("/one.bin");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "x");
  EXPECT_EQ(client.get("/nope", "", "HEAD").status, 404);
  EXPECT_EQ(client.get("/one.bin").body, "x");
}

TEST_F(ServerTest, HundredPipelinedRequestsComeBackInOrder) {
  Client client(server->port());
  std::string burst;
  for (int i = 0; i < 100; ++i) {
    std::string target = i % 10 == 7 ? "/missing-" + std::to_string(i) : "/p/" + std::to_string(i);
    burst += (i % 10 == 3 ? "HEAD " : "GET ") + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  client.send(burst);  // one write: the server sees them all at once
  for (int i = 0; i < 100; ++i) {
    Response response = client.read_response(i % 10 == 3);
    if (i % 10 == 7) {
      EXPECT_EQ(response.status, 404) << i;
    } else if (i % 10 == 3) {
      EXPECT_EQ(response.status, 200) << i;
      EXPECT_EQ(response.body, "") << i;
    } else {
      EXPECT_EQ(response.body, "file " + std::to_string(i) + "\n") << i;
    }
  }
}

TEST_F(ServerTest, PipelinedRequestsSplitAcrossWrites) {
  Client client(server->port());
  std::string two = "GET /p/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /p/2 HTTP/1.1\r\nHost: t\r\n\r\n";
  for (size_t at = 0; at < two.size(); at += 7) {
    client.send(two.substr(at, 7));
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(client.read_response().body, "file 1\n");
  EXPECT_EQ(client.read_response().body, "file 2\n");
}

TEST_F(ServerTest, SymlinksLeavingTheDocrootAreRefused) {
  Client client(server->port());
  EXPECT_EQ(client.get("/abs-link").status, 403);
  EXPECT_EQ(client.get("/sub/rel-link").status, 403);
  Response inside = client.get("/inside-link");
  EXPECT_EQ(inside.status, 200);
  EXPECT_EQ(inside.body, "page\n");
}

TEST_F(ServerTest, TraversalNeverEscapes) {
  Client client(server->port());
  for (const char* attack : {"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/sub/..%2f..%2fetc/passwd",
                             "/%c0%ae%c0%ae/etc/passwd", "/a%00.html"}) {
    Client fresh(server->port());
    Response response = fresh.get(attack);
    EXPECT_EQ(response.status, 400) << attack;
    EXPECT_EQ(response.body.find("root:"), std::string::npos) << attack;
  }
  EXPECT_EQ(client.get("/..\\..\\etc\\passwd").status, 404);
  EXPECT_EQ(client.get("/sub/../index.html").body, "<h1>home</h1>\n");
}

TEST_F(ServerTest, ErrorStatuses) {
  Client client(server->port());
  Response missing = client.get("/does-not-exist");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "404 Not Found\n");
  Response post = client.get("/index.html", "Content-Length: 0\r\n", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("Allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(client.get("/", "", "DELETE").status, 405);
  EXPECT_EQ(client.get("/", "", "BREW").status, 501);
  EXPECT_EQ(client.get("/fifo").status, 403);
  EXPECT_EQ(client.get("/one.bin/").status, 404);  // a file is not a directory
  // All of these keep the connection usable.
  EXPECT_EQ(client.get("/one.bin").body, "x");
}

TEST_F(ServerTest, DirectoryRequests) {
  Client client(server->port());
  Response redirect = client.get("/sub");
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(redirect.header("Location"), "sub/");
  EXPECT_EQ(client.get("/sub?x=1&y=2").header("Location"), "sub/?x=1&y=2");
  EXPECT_EQ(client.get("/sub/deeper").header("Location"), "deeper/");
  EXPECT_EQ(client.get("/a:b").header("Location"), "./a:b/");
  EXPECT_EQ(client.get("/sub/").body, "sub index\n");
  EXPECT_EQ(client.get("/sub/deeper/").body, "htm index\n");  // second --index name
  EXPECT_EQ(client.get("/").body, "<h1>home</h1>\n");
  EXPECT_EQ(client.get("/noindex/").status, 403);
  EXPECT_EQ(client.get("/no-such-dir/").status, 404);
}

TEST_F(ServerTest, Http10ClosesAfterTheResponse) {
  Client client(server->port());
  client.send("GET /one.bin HTTP/1.0\r\n\r\n");
  Response response = client.read_response();
  EXPECT_EQ(response.body, "x");
  EXPECT_EQ(response.header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_peer(5s));
}

TEST_F(ServerTest, Http10KeepAliveOnRequest) {
  Client client(server->port());
  client.send("GET /one.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  Response response = client.read_response();
  EXPECT_EQ(response.header("Connection"), "keep-alive");
  client.send("GET /one.bin HTTP/1.0\r\n\r\n");
  EXPECT_EQ(client.read_response().body, "x");
  EXPECT_TRUE(client.closed_by_peer(5s));
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  Client client(server->port());
  Response response = client.get("/one.bin", "Connection: close\r\n");
  EXPECT_EQ(response.header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_peer(5s));
}

// Reads to the end of the stream; true when it ended with FIN (recv 0),
// false on a reset or a timeout.
bool read_to_fin(int fd, std::string& out) {
  char chunk[65536];
  for (;;) {
    pollfd wait{fd, POLLIN, 0};
    if (poll(&wait, 1, 5000) <= 0) {
      return false;
    }
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n == 0) {
      return true;
    }
    if (n < 0) {
      return false;
    }
    out.append(chunk, static_cast<size_t>(n));
  }
}

uint32_t segments_received(int fd) {
  tcp_info info{};
  socklen_t length = sizeof info;
  getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length);
  return info.tcpi_segs_in;
}

TEST_F(ServerTest, ConnectionCloseSendsTheLastBytesWithFin) {
  for (const char* target : {"/one.bin", "/one.bin", "/10m.bin"}) {
    Client client(server->port());
    client.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    std::string all;
    ASSERT_TRUE(read_to_fin(client.fd(), all)) << target << ": reset or timeout, not FIN";
    std::string body = file(std::string(target).substr(1));
    ASSERT_GE(all.size(), body.size()) << target;
    EXPECT_TRUE(all.compare(all.size() - body.size(), body.size(), body) == 0) << target;
    if (body.size() == 1) {
      // SYN-ACK, the ACK of the request (quick-ACK mode at connection
      // start), then the response and FIN in one segment: a FIN sent on its
      // own would make 4 (measured on loopback).
      EXPECT_LE(segments_received(client.fd()), 3u) << "FIN in a segment of its own";
    }
  }
}

TEST_F(ServerTest, BytesAfterAConnectionCloseRequestAreDrainedNotReset) {
  // Input beyond the last request is left unread: a plain close would send
  // RST, which can destroy the response before the client reads it.
  Client client(server->port());
  client.send("GET /one.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
              "GET /one.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string all;
  ASSERT_TRUE(read_to_fin(client.fd(), all));
  EXPECT_EQ(all.find("HTTP/1.1 200"), 0u);
  EXPECT_EQ(all.find("HTTP/1.1", 1), std::string::npos) << "answered past Connection: close";
}

TEST_F(ServerTest, MalformedRequestsAreAnsweredAndClosed) {
  struct Case {
    std::string bytes;
    int status;
  };
  std::vector<Case> cases = {
      {"GET / HTTP/1.1\nHost: t\n\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(17000, 'b') + "\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      // A chunked body is read (RFC 9112 §7.1); a bad chunk size is 400.
      {"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400},
      {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00", 8), 400},  // TLS on the plain port
  };
  for (const Case& c : cases) {
    Client client(server->port());
    client.send(c.bytes);
    Response response = client.read_response();
    EXPECT_EQ(response.status, c.status) << c.bytes.substr(0, 60);
    EXPECT_EQ(response.header("Connection"), "close") << c.bytes.substr(0, 60);
    EXPECT_TRUE(client.closed_by_peer(5s)) << c.bytes.substr(0, 60);
  }
}

TEST_F(ServerTest, SmallRequestBodyIsSkippedAndTheConnectionStaysInStep) {
  Client client(server->port());
  // The body looks like a request: if it were parsed as one, the next
  // response would be for /p/9.
  std::string body = "GET /p/9 HTTP/1.1\r\nHost: t\r\n\r\n";
  client.send("GET /p/1 HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n" + body + "GET /p/2 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(client.read_response().body, "file 1\n");
  EXPECT_EQ(client.read_response().body, "file 2\n");
}

// A body that arrives after its response is skipped under the header
// deadline; once it is all in, the connection waits for its next request
// under the keep-alive deadline, as any idle one (it used to keep the
// header deadline and close early).
TEST(ServerTimers, AfterASkippedBodyTheIdleDeadlineApplies) {
  TempDir root;
  root.write("a.txt", "a");
  ServerProcess server(root.path(), {"--header-timeout", "1s", "--keepalive-timeout", "4s"});
  Client client(server.port());
  client.send("GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(client.read_response().body, "a");
  std::this_thread::sleep_for(300ms);
  client.send("0123456789");  // the body, late
  EXPECT_FALSE(client.closed_by_peer(2500ms)) << "closed by the header deadline";
  EXPECT_EQ(client.get("/a.txt").body, "a");
}

// A body served from memory goes out in one SENDMSG; a slow but steady
// reader makes it complete in many parts, and each part is progress: the
// send deadline cuts a reader that stopped, not one that is slow.
TEST(ServerTimers, ASlowReaderOfABodyFromMemoryIsNotCut) {
  TempDir root;
  std::string body = random_bytes(12 << 20, 5);
  root.write("cached.bin", body);
  ServerProcess server(root.path(), {"--cache-body-max", std::to_string(16 << 20), "--send-timeout",
                                     "2s", "--workers", "1"});
  Client warm(server.port());
  EXPECT_EQ(warm.get("/cached.bin").body.size(), body.size());  // read into the cache
  Client slow(server.port());
  int small = 65536;
  setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  slow.send("GET /cached.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string received;
  auto started = std::chrono::steady_clock::now();
  char chunk[65536];
  for (;;) {
    ssize_t n = recv(slow.fd(), chunk, sizeof chunk, 0);
    if (n <= 0) {
      break;
    }
    received.append(chunk, static_cast<size_t>(n));
    std::this_thread::sleep_for(20ms);  // about 3 MiB/s: 12 MiB takes longer than 2 s
  }
  EXPECT_GT(std::chrono::steady_clock::now() - started, 2500ms);
  size_t head = received.find("\r\n\r\n");
  ASSERT_NE(head, std::string::npos);
  EXPECT_TRUE(received.substr(head + 4) == body) << received.size() - head - 4 << " body bytes";
}

TEST_F(ServerTest, SlowReaderGetsEveryByte) {
  Client client(server->port());
  int small = 16 * 1024;
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  client.send("GET /10m.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(300ms);  // let the socket and pipe fill up
  Response response = client.read_response();
  EXPECT_TRUE(response.body == file("10m.bin"));
  EXPECT_EQ(client.get("/one.bin").body, "x");
}

TEST_F(ServerTest, ClientResetMidResponseLeavesTheServerServing) {
  for (int i = 0; i < 5; ++i) {
    Client client(server->port());
    client.send("GET /10m.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    char some[4096];
    ASSERT_GT(recv(client.fd(), some, sizeof some, 0), 0);
    linger reset{1, 0};  // close with RST
    setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  Client after(server->port());
  EXPECT_TRUE(after.get("/10m.bin").body == file("10m.bin"));
}

TEST_F(ServerTest, FileTruncatedDuringTheResponseEndsItCleanly) {
  std::string big = random_bytes(40 * 1024 * 1024, 9);
  std::string path = root->write("shrinking.bin", big);
  Client client(server->port());
  int small = 16 * 1024;
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  client.send("GET /shrinking.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string received;
  char chunk[65536];
  while (received.size() < 1024 * 1024) {
    ssize_t n = recv(client.fd(), chunk, sizeof chunk, 0);
    ASSERT_GT(n, 0);
    received.append(chunk, static_cast<size_t>(n));
  }
  ASSERT_EQ(truncate(path.c_str(), 2 * 1024 * 1024), 0);
  received += client.read_until_close(20s);
  size_t head_end = received.find("\r\n\r\n") + 4;
  std::string body = received.substr(head_end);
  EXPECT_LT(body.size(), big.size());  // short: the client can tell
  EXPECT_TRUE(big.compare(0, body.size(), body) == 0) << "the bytes sent are the file's bytes";
  Client after(server->port());
  EXPECT_EQ(after.get("/one.bin").body, "x");
}

TEST_F(ServerTest, CurlFetchesAndFollowsRedirects) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "curl is not installed";
  }
  std::string url = "http://127.0.0.1:" + std::to_string(server->port());
  TempDir out;
  std::string command = "curl -sfL -o " + out.path() + "/sub.html " + url + "/sub && curl -sf -o " +
                        out.path() + "/big.bin " + url + "/10m.bin && curl -sfI " + url +
                        "/4k.bin > " + out.path() + "/head.txt";
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto read = [](const std::string& path) { return read_file(path); };
  EXPECT_EQ(read(out.path() + "/sub.html"), "sub index\n");
  EXPECT_TRUE(read(out.path() + "/big.bin") == file("10m.bin"));
  EXPECT_NE(read(out.path() + "/head.txt").find("Content-Length: 4096"), std::string::npos);
}

// ---- servers with their own flags ---------------------------------------------

TEST(ServerTimeouts, IdleKeepAliveAndSlowHeadersAreClosed) {
  TempDir root;
  root.write("a.txt", "a");
  ServerProcess server(root.path(), {"--keepalive-timeout", "1s", "--header-timeout", "1s"});
  Client idle(server.port());
  EXPECT_EQ(idle.get("/a.txt").body, "a");
  Client slow(server.port());
  slow.send("GET /a.txt HTTP/1.1\r\nHo");
  Client silent(server.port());
  EXPECT_TRUE(idle.closed_by_peer(5s));
  EXPECT_TRUE(slow.closed_by_peer(5s));
  EXPECT_TRUE(silent.closed_by_peer(5s));
  Client fresh(server.port());
  EXPECT_EQ(fresh.get("/a.txt").body, "a");
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

TEST(ServerLimits, KeepaliveRequestsClosesAfterTheLastAllowedResponse) {
  TempDir root;
  root.write("a.txt", "a");
  ServerProcess server(root.path(), {"--keepalive-requests", "3"});
  {
    Client client(server.port());
    for (int i = 1; i <= 3; ++i) {
      Response response = client.get("/a.txt");
      EXPECT_EQ(response.body, "a") << i;
      EXPECT_EQ(response.header("Connection").value_or(""), i == 3 ? "close" : "") << i;
    }
    EXPECT_TRUE(client.closed_by_peer(5s));
  }
  {
    // Pipelined past the limit: the allowed ones are answered, then the
    // connection closes; the rest are the client's to send again.
    Client client(server.port());
    std::string burst;
    for (int i = 0; i < 5; ++i) {
      burst += "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    }
    client.send(burst);
    std::string everything = client.read_until_close(5s);
    size_t responses = 0;
    for (size_t at = everything.find("HTTP/1.1 200"); at != std::string::npos;
         at = everything.find("HTTP/1.1 200", at + 1)) {
      ++responses;
    }
    EXPECT_EQ(responses, 3u) << everything;
  }
  Client fresh(server.port());
  EXPECT_EQ(fresh.get("/a.txt").body, "a");
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

TEST(ServerLifecycle, SigtermLetsAnInFlightDownloadFinish) {
  TempDir root;
  std::string big = random_bytes(ten_mib, 5);
  root.write("big.bin", big);
  auto server = std::make_unique<ServerProcess>(root.path());
  Client client(server->port());
  int small = 16 * 1024;
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  client.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  char first[1024];
  ASSERT_GT(recv(client.fd(), first, sizeof first, MSG_PEEK), 0);
  Client idle(server->port());
  EXPECT_EQ(idle.get("/big.bin", "", "HEAD").status, 200);
  std::thread stopper([&] { EXPECT_EQ(server->stop(), 0); });
  Response response = client.read_response();
  EXPECT_TRUE(response.body == big);
  EXPECT_TRUE(client.closed_by_peer(5s));
  stopper.join();
  expect_clean_stderr(server->stderr_text());
}

TEST(ServerFlags, BadValuesExitTwoWithOneLineNamingTheFlag) {
  TempDir root;
  std::string file = root.write("file.txt", "x");
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  for (const Case& c : {Case{{"--listen", "127.0.0.1:0"}, "--root"},
                        Case{{"--root", root.path() + "/missing"}, "--root"},
                        Case{{"--root", file}, "--root"},
                        Case{{"--root", root.path(), "--listen", "127.0.0.1:70000"}, "--listen"},
                        Case{{"--root", root.path(), "--workers", "-3"}, "--workers"},
                        Case{{"--root", root.path(), "--bogus"}, "bogus"}}) {
    auto [status, text] = run_to_exit(c.args);
    EXPECT_EQ(status, 2) << text;
    EXPECT_NE(text.find(c.flag), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  }
  EXPECT_EQ(run_to_exit({"--help"}).first, 0);
  EXPECT_EQ(run_to_exit({"--version"}).first, 0);
}

TEST(ServerFlags, PortInUseIsOneClearLine) {
  TempDir root;
  ServerProcess first(root.path());
  // A plain listener of another program.
  uint16_t port = 0;
  int fd = listen_on_loopback(port);
  std::string taken = "127.0.0.1:" + std::to_string(port);
  auto [status, text] = run_to_exit({"--root", root.path(), "--listen", taken});
  EXPECT_EQ(status, 1);
  EXPECT_NE(text.find("--listen " + taken + ": cannot listen: Address already in use"),
            std::string::npos)
      << text;
  close(fd);
}

// Every listener sets SO_REUSEPORT so the workers share an address; a
// second instance of the same user (or any socket that set it) would then
// join the group silently. It must refuse to start instead.
TEST(ServerFlags, ASecondInstanceOnAServedPortExits) {
  TempDir root;
  ServerProcess first(root.path(), {"--workers", "2"});
  std::string taken = "127.0.0.1:" + std::to_string(first.port());
  auto [status, text] = run_to_exit({"--root", root.path(), "--listen", taken});
  EXPECT_EQ(status, 1) << text;
  EXPECT_NE(text.find("port in use"), std::string::npos) << text;
  // A foreign listener that set SO_REUSEPORT too, as a second ringhttpd would.
  uint16_t port = 0;
  int fd = listen_on_loopback(port, true);
  std::string shared = "127.0.0.1:" + std::to_string(port);
  auto [shared_status, shared_text] = run_to_exit({"--root", root.path(), "--listen", shared});
  EXPECT_EQ(shared_status, 1) << shared_text;
  EXPECT_NE(shared_text.find("port in use"), std::string::npos) << shared_text;
  close(fd);
  Client client(first.port());  // the first one still serves
  EXPECT_EQ(client.get("/").status, 403);
}

TEST(ServerFlags, UnavailableIoUringIsOneClearLine) {
  TempDir root;
  auto [status, text] = run_to_exit({"--root", root.path(), "--listen", "127.0.0.1:0"}, true);
  EXPECT_EQ(status, 1) << text;
  EXPECT_EQ(text.rfind("ringhttpd: io_uring is unavailable: io_uring_setup failed: "
                       "Operation not permitted (",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("seccomp"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

TEST(ServerListen, Ipv6AndSeveralWorkersOnOnePort) {
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 loopback{};
  loopback.sin6_family = AF_INET6;
  loopback.sin6_addr = in6addr_loopback;
  bool has_ipv6 = probe >= 0 && bind(probe, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
  close(probe);
  if (!has_ipv6) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  TempDir root;
  root.write("a.txt", "a");
  ServerProcess server(root.path(), {"--workers", "4"}, "[::1]:0");
  // Many connections: SO_REUSEPORT spreads them over all four workers,
  // which must all be listening on the one port that was printed.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 32; ++i) {
    clients.push_back(std::make_unique<Client>(server.port(), true));
    EXPECT_EQ(clients.back()->get("/a.txt").body, "a");
  }
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

TEST(DemoSite, ServesTheBundledDocroot) {
  ServerProcess server(RINGHTTPD_DEMO_ROOT);
  Client client(server.port());
  Response index = client.get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.header("Content-Type"), "text/html");
  EXPECT_NE(index.body.find("ringhttpd"), std::string::npos);
  EXPECT_EQ(client.get("/style.css").header("Content-Type"), "text/css");
  EXPECT_EQ(client.get("/img/ring.svg").header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(client.get("/img/ring.png").header("Content-Type"), "image/png");
}

}  // namespace
}  // namespace ringhttpd::test
