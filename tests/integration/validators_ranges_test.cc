// Conditional and range requests against the real server (RFC 9110 §13,
// §14): every 304/412/206/416 header set, multipart bodies parsed back and
// compared byte for byte, HEAD mirroring GET, and curl as the client.

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

struct ValidatorsTest : ::testing::Test {
  static void SetUpTestSuite() {
    root = new TempDir();
    small = random_bytes(10'000, 21);  // in memory: one SENDMSG
    large = random_bytes(3 * 1024 * 1024 + 17, 22);  // spliced in chunks
    root->write("small.bin", small);
    root->write("large.bin", large);
    server = new ServerProcess(root->path());
    Client client(server->port());
    Response response = client.get("/small.bin");
    etag = *response.header("ETag");
    last_modified = *response.header("Last-Modified");
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server->stop(), 0);
    expect_clean_stderr(server->stderr_text());
    delete server;
    delete root;
  }
  static std::vector<std::string> header_names(const Response& response) {
    std::vector<std::string> names;
    for (const auto& [name, value] : response.headers) {
      names.push_back(name);
    }
    return names;
  }
  static inline TempDir* root = nullptr;
  static inline ServerProcess* server = nullptr;
  static inline std::string small;
  static inline std::string large;
  static inline std::string etag;
  static inline std::string last_modified;
};

TEST_F(ValidatorsTest, ConditionalTable) {
  const std::string past = "Sun, 06 Nov 1994 08:49:37 GMT";
  const std::string future = "Fri, 01 Jan 2100 00:00:00 GMT";
  struct Case {
    std::string headers;
    int status;
  };
  std::vector<Case> cases = {
      {"", 200},
      {"If-None-Match: " + etag + "\r\n", 304},
      {"If-None-Match: \"other\", " + etag + "\r\n", 304},
      {"If-None-Match: W/" + etag + "\r\n", 304},  // weak comparison
      {"If-None-Match: *\r\n", 304},
      {"If-None-Match: \"other\"\r\n", 200},
      {"If-Modified-Since: " + last_modified + "\r\n", 304},
      {"If-Modified-Since: " + future + "\r\n", 304},
      {"If-Modified-Since: " + past + "\r\n", 200},
      {"If-Modified-Since: yesterday\r\n", 200},                               // invalid: ignored
      {"If-None-Match: \"other\"\r\nIf-Modified-Since: " + future + "\r\n", 200},  // INM wins
      {"If-Match: " + etag + "\r\n", 200},
      {"If-Match: *\r\n", 200},
      {"If-Match: \"other\"\r\n", 412},
      {"If-Match: W/" + etag + "\r\n", 412},  // strong comparison
      {"If-Unmodified-Since: " + past + "\r\n", 412},
      {"If-Unmodified-Since: " + future + "\r\n", 200},
      {"If-Match: " + etag + "\r\nIf-Unmodified-Since: " + past + "\r\n", 200},  // IM wins
      {"If-Match: \"other\"\r\nIf-None-Match: " + etag + "\r\n", 412},          // 412 before 304
  };
  Client client(server->port());
  for (const Case& c : cases) {
    for (const char* method : {"GET", "HEAD"}) {
      Response response = client.get("/small.bin", c.headers, method);
      EXPECT_EQ(response.status, c.status) << method << " " << c.headers;
    }
  }
}

// Found by fuzz_headers: a short value with a comma crashed the date parser.
TEST_F(ValidatorsTest, MalformedDatesNeverHurtTheServer) {
  Client client(server->port());
  // An invalid date is ignored (RFC 9110 §13.1.3, §13.1.4); an If-Range that
  // is neither a strong ETag nor a date that matches makes the Range ignored
  // (§13.1.5): every one of them is a plain 200.
  for (const char* header : {"If-Modified-Since: abc,\r\n", "If-Unmodified-Since: Sun,\r\n",
                             "Range: bytes=0-1\r\nIf-Range: x,\r\n"}) {
    Response response = client.get("/small.bin", header);
    EXPECT_EQ(response.status, 200) << header;
  }
  EXPECT_EQ(client.get("/small.bin").status, 200);
}

TEST_F(ValidatorsTest, NotModifiedHeaderSet) {
  Client client(server->port());
  Response response = client.get("/small.bin", "If-None-Match: " + etag + "\r\n");
  ASSERT_EQ(response.status, 304);
  EXPECT_EQ(header_names(response),
            (std::vector<std::string>{"Server", "Date", "Vary", "Last-Modified", "ETag"}));
  EXPECT_EQ(response.header("ETag"), etag);
  EXPECT_EQ(response.header("Last-Modified"), last_modified);
  EXPECT_EQ(client.get("/small.bin").body.size(), small.size());  // no stray body before it
}

TEST_F(ValidatorsTest, PreconditionFailedHeaderSet) {
  Client client(server->port());
  Response response = client.get("/small.bin", "If-Match: \"other\"\r\n");
  ASSERT_EQ(response.status, 412);
  EXPECT_EQ(header_names(response),
            (std::vector<std::string>{"Server", "Date", "Content-Type", "Content-Length"}));
  EXPECT_EQ(response.body, "412 Precondition Failed\n");
}

TEST_F(ValidatorsTest, SingleRanges) {
  Client client(server->port());
  for (const std::string& name : {std::string("small.bin"), std::string("large.bin")}) {
    const std::string& bytes = name == "small.bin" ? small : large;
    uint64_t size = bytes.size();
    struct Case {
      std::string range;
      uint64_t first;
      uint64_t last;
    };
    for (const Case& c : {Case{"bytes=0-0", 0, 0}, Case{"bytes=100-4099", 100, 4099},
                          Case{"bytes=-500", size - 500, size - 1},
                          Case{"bytes=" + std::to_string(size - 10) + "-", size - 10, size - 1},
                          Case{"bytes=5000-99999999", 5000, size - 1},
                          Case{"bytes=0-", 0, size - 1}}) {
      Response response = client.get("/" + name, "Range: " + c.range + "\r\n");
      ASSERT_EQ(response.status, 206) << name << " " << c.range;
      EXPECT_EQ(response.header("Content-Range"), "bytes " + std::to_string(c.first) + "-" +
                                                      std::to_string(c.last) + "/" +
                                                      std::to_string(size));
      EXPECT_EQ(response.header("Content-Length"), std::to_string(c.last - c.first + 1));
      EXPECT_EQ(response.header("Content-Type"), "application/octet-stream");
      EXPECT_EQ(header_names(response),
                (std::vector<std::string>{"Server", "Date", "Content-Type", "Content-Length",
                                          "Content-Range", "Vary", "Last-Modified", "ETag",
                                          "Accept-Ranges"}));
      EXPECT_TRUE(response.header("ETag"));
      EXPECT_TRUE(response.body == bytes.substr(c.first, c.last - c.first + 1)) << name << " " << c.range;
    }
  }
}

// Parses a multipart/byteranges body back into (Content-Range, bytes) parts.
std::vector<std::pair<std::string, std::string>> parse_multipart(const Response& response) {
  std::string type = *response.header("Content-Type");
  std::string prefix = "multipart/byteranges; boundary=";
  EXPECT_EQ(type.rfind(prefix, 0), 0u) << type;
  std::string delimiter = "--" + type.substr(prefix.size());
  const std::string& body = response.body;
  std::vector<std::pair<std::string, std::string>> parts;
  size_t at = body.find(delimiter);
  EXPECT_EQ(at, 0u);
  while (at != std::string::npos) {
    at += delimiter.size();
    if (body.compare(at, 4, "--\r\n") == 0) {
      EXPECT_EQ(at + 4, body.size()) << "bytes after the closing delimiter";
      break;
    }
    size_t head_end = body.find("\r\n\r\n", at);
    std::string head = body.substr(at + 2, head_end - at - 2);
    size_t next = body.find("\r\n" + delimiter, head_end + 4);
    std::string range = head.substr(head.find("Content-Range: ") + 15);
    range = range.substr(0, range.find("\r\n"));
    EXPECT_NE(head.find("Content-Type: application/octet-stream"), std::string::npos) << head;
    parts.emplace_back(range, body.substr(head_end + 4, next - head_end - 4));
    at = next == std::string::npos ? next : next + 2;
  }
  return parts;
}

TEST_F(ValidatorsTest, MultipleRangesAsMultipartByteranges) {
  Client client(server->port());
  for (const std::string& name : {std::string("small.bin"), std::string("large.bin")}) {
    const std::string& bytes = name == "small.bin" ? small : large;
    std::string size = std::to_string(bytes.size());
    // Unordered and overlapping on purpose: 0-99 and 50-149 merge.
    Response response = client.get("/" + name, "Range: bytes=9000-9099, 0-99, 50-149, -10\r\n");
    ASSERT_EQ(response.status, 206) << name;
    EXPECT_FALSE(response.header("Content-Range"));
    EXPECT_EQ(response.header("Content-Length"), std::to_string(response.body.size()));
    auto parts = parse_multipart(response);
    ASSERT_EQ(parts.size(), 3u) << name;
    uint64_t tail = bytes.size() - 10;
    std::vector<std::pair<std::string, std::string>> expected = {
        {"bytes 0-149/" + size, bytes.substr(0, 150)},
        {"bytes 9000-9099/" + size, bytes.substr(9000, 100)},
        {"bytes " + std::to_string(tail) + "-" + std::to_string(bytes.size() - 1) + "/" + size,
         bytes.substr(tail)},
    };
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(parts[i].first, expected[i].first) << name;
      EXPECT_TRUE(parts[i].second == expected[i].second) << name << " part " << i;
    }
    // HEAD ignores Range (RFC 9110 §14.2: a server MUST ignore it for
    // methods other than GET): it says what a plain GET would.
    Response head = client.get("/" + name, "Range: bytes=9000-9099, 0-99, 50-149, -10\r\n", "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), std::to_string(bytes.size()));
    EXPECT_FALSE(head.header("Content-Range"));
  }
}

TEST_F(ValidatorsTest, UnsatisfiableAndIgnoredRanges) {
  Client client(server->port());
  Response unsatisfiable = client.get("/small.bin", "Range: bytes=20000-30000\r\n");
  EXPECT_EQ(unsatisfiable.status, 416);
  EXPECT_EQ(unsatisfiable.header("Content-Range"), "bytes */10000");
  EXPECT_EQ(header_names(unsatisfiable),
            (std::vector<std::string>{"Server", "Date", "Content-Range", "Content-Type", "Content-Length"}));
  for (const char* ignored : {"Range: items=0-1\r\n", "Range: bytes=5-1\r\n", "Range: bytes=x\r\n"}) {
    Response response = client.get("/small.bin", ignored);
    EXPECT_EQ(response.status, 200) << ignored;
    EXPECT_EQ(response.body.size(), small.size()) << ignored;
  }
}

TEST_F(ValidatorsTest, RangeKillerIsServedWhole) {
  Client client(server->port());
  std::string killer = "Range: bytes=0-";
  for (int i = 1; i < 1000; ++i) {
    killer += ",5-" + std::to_string(i);
  }
  Response many = client.get("/large.bin", killer + "\r\n");
  EXPECT_EQ(many.status, 200);
  EXPECT_TRUE(many.body == large);
  Response overlapping = client.get("/small.bin", "Range: bytes=0-9999,0-9999\r\n");
  EXPECT_EQ(overlapping.status, 200);  // more bytes than the file: whole, once
}

TEST_F(ValidatorsTest, IfRangeDecidesBetweenPartAndWhole) {
  Client client(server->port());
  EXPECT_EQ(client.get("/small.bin", "Range: bytes=0-9\r\nIf-Range: " + etag + "\r\n").status, 206);
  EXPECT_EQ(client.get("/small.bin", "Range: bytes=0-9\r\nIf-Range: " + last_modified + "\r\n").status, 206);
  Response stale = client.get("/small.bin", "Range: bytes=0-9\r\nIf-Range: \"old\"\r\n");
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body.size(), small.size());
  EXPECT_EQ(client.get("/small.bin", "Range: bytes=0-9\r\nIf-Range: W/" + etag + "\r\n").status, 200);
}

TEST_F(ValidatorsTest, CurlResumesAndRevalidates) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "curl is not installed";
  }
  TempDir out;
  std::string url = "http://127.0.0.1:" + std::to_string(server->port()) + "/large.bin";
  std::string partial = out.write("large.bin", large.substr(0, 1'000'000));
  // curl -C - resumes from the size of the file it has: a Range request.
  ASSERT_EQ(std::system(("curl -sf -C - -o " + partial + " " + url).c_str()), 0);
  EXPECT_TRUE(read_file(partial) == large);
  // curl -z sends If-Modified-Since from the local file's mtime: 304, no download.
  std::string code_file = out.path() + "/code";
  ASSERT_EQ(std::system(("curl -s -z 'Fri, 01 Jan 2100 00:00:00 GMT' -o /dev/null -w '%{http_code}' " +
                         url + " > " + code_file)
                            .c_str()),
            0);
  EXPECT_EQ(read_file(code_file), "304");
}

}  // namespace
}  // namespace ringhttpd::test
