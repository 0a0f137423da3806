// Pipelined responses batched into one send (src/response_batch.h): the
// responses come back whole and in order, each logged once, a spliced
// response in the middle carries the batch, and a response is never held
// back for a request that has not fully arrived.

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

struct BatchTest : ::testing::Test {
  BatchTest() {
    root.write("a.txt", "alpha\n");
    root.write("b.txt", "bravo bravo\n");
    root.write("4k.bin", four_k);
    root.write("big.bin", big);  // above --cache-body-max: spliced
  }
  TempDir root;
  std::string four_k = random_bytes(4096, 11);
  std::string big = random_bytes(300'000, 12);
};

uint64_t counter(uint16_t port, const std::string& name) {
  Client client(port);
  std::string metrics = client.get("/metrics").body;
  size_t at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? ~0ull : std::stoull(metrics.substr(at + name.size() + 2));
}

TEST_F(BatchTest, PipelinedResponsesComeBackWholeInOrderEachLoggedOnce) {
  ServerProcess server(root.path(), {"--workers", "1", "--metrics-path", "/metrics", "--log-flush", "10ms"});
  struct Ask {
    std::string method, target, headers;
    int status;
    std::string body;
  };
  std::vector<Ask> asks = {
      {"GET", "/a.txt", "", 200, "alpha\n"},
      {"GET", "/missing", "", 404, "404 Not Found\n"},
      {"HEAD", "/b.txt", "", 200, ""},
      {"GET", "/4k.bin", "Range: bytes=10-19\r\n", 206, four_k.substr(10, 10)},
      {"GET", "/b.txt", "If-None-Match: *\r\n", 304, ""},
      {"GET", "/4k.bin", "", 200, four_k},
      {"GET", "/big.bin", "", 200, big},  // spliced: carries what came before
      {"GET", "/a.txt", "", 200, "alpha\n"},
      {"GET", "/b.txt", "", 200, "bravo bravo\n"},
      {"GET", "/a.txt", "", 200, "alpha\n"},
  };
  Client warm(server.port());  // the small files in memory, so they can batch
  for (const char* path : {"/a.txt", "/b.txt", "/4k.bin"}) {
    ASSERT_EQ(warm.get(path).status, 200);
  }
  uint64_t batched_before = counter(server.port(), "ringhttpd_responses_batched_total");
  ASSERT_NE(batched_before, ~0ull);
  Client client(server.port());
  std::string burst;
  for (const Ask& ask : asks) {
    burst += ask.method + " " + ask.target + " HTTP/1.1\r\nHost: t\r\n" + ask.headers + "\r\n";
  }
  client.send(burst);  // one write: the server finds each next request already whole
  for (size_t i = 0; i < asks.size(); ++i) {
    Response response = client.read_response(asks[i].method == "HEAD");
    EXPECT_EQ(response.status, asks[i].status) << i;
    EXPECT_EQ(response.body, asks[i].body) << i;
  }
  // Each request logged once, in the order asked.
  std::this_thread::sleep_for(100ms);
  std::vector<std::string> lines = lines_of(read_file(server.access_log_path()));
  std::vector<std::string> ours;
  for (const std::string& line : lines) {
    if (line.find("/metrics") == std::string::npos) {
      ours.push_back(line);
    }
  }
  ASSERT_EQ(ours.size(), 3 + asks.size());
  for (size_t i = 0; i < asks.size(); ++i) {
    std::string request = "\"" + asks[i].method + " " + asks[i].target + " HTTP/1.1\" " +
                          std::to_string(asks[i].status) + " ";
    EXPECT_NE(ours[3 + i].find(request), std::string::npos) << ours[3 + i];
  }
  // Every response from memory with a whole request behind it was
  // batched: all but the spliced one (it carried the batch before it) and
  // the last (nothing behind it).
  std::this_thread::sleep_for(100ms);  // a tick publishes the counters
  uint64_t batched = counter(server.port(), "ringhttpd_responses_batched_total") - batched_before;
  EXPECT_EQ(batched, asks.size() - 2) << "all from memory but the last went in a later send";
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

// The first response goes out at once though a second request follows in
// the same write, when that one is not whole yet: a head still arriving,
// or a body (chunked or not) the client has yet to send.
TEST_F(BatchTest, AResponseIsNeverHeldForARequestStillArriving) {
  ServerProcess server(root.path(), {"--workers", "1"});
  Client warm(server.port());
  ASSERT_EQ(warm.get("/a.txt").status, 200);
  for (const char* second : {"GET /b.txt HTTP/1.1\r\nHost: t\r\n",
                             "POST /b.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nbra",
                             "POST /b.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nbra"}) {
    Client client(server.port());
    auto sent = std::chrono::steady_clock::now();
    client.send(std::string("GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n") + second);
    Response first = client.read_response();
    EXPECT_EQ(first.body, "alpha\n") << second;
    EXPECT_LT(std::chrono::steady_clock::now() - sent, 2s) << second;
  }
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace ringhttpd::test
