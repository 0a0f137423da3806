// Precompressed siblings: file.br / .zst / .gz chosen by Accept-Encoding
// and the server's order, with their own validators and Vary on every
// response.

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

struct PrecompressedTest : ::testing::Test {
  PrecompressedTest() {
    original = random_bytes(5000, 31);
    root.write("app.js", original);
    root.write("app.js.br", "BROTLI-BYTES");
    root.write("app.js.gz", "GZIP-BYTES-LONGER");
    root.write("style.css", "body{}");
    std::string stale = root.write("style.css.gz", "OLD-GZIP");
    set_mtime(stale, 1'000'000'000);  // older than style.css: must never be served
    root.write("docs/index.html", "<p>docs</p>");
    root.write("docs/index.html.gz", "DOCS-GZ");
    root.mkdir("dir.br");             // not a file: not a sibling
    root.write("dir", "plain dir file");
  }
  static void set_mtime(const std::string& path, time_t seconds) {
    timespec times[2] = {{seconds, 0}, {seconds, 0}};
    utimensat(AT_FDCWD, path.c_str(), times, 0);
  }
  Response get(Client& client, const std::string& path, const std::string& accept,
               const std::string& extra = "", const std::string& method = "GET") {
    return client.get(path, accept.empty() ? extra : "Accept-Encoding: " + accept + "\r\n" + extra,
                      method);
  }
  TempDir root;
  std::string original;
};

TEST_F(PrecompressedTest, ChoiceFollowsAcceptEncodingAndServerOrder) {
  ServerProcess server(root.path());
  Client client(server.port());
  Response plain = get(client, "/app.js", "");
  struct Case {
    std::string accept;
    std::string encoding;  // empty: the original
  };
  for (const Case& c : {Case{"gzip, deflate, br", "br"}, Case{"gzip", "gzip"}, Case{"x-gzip", "gzip"},
                        Case{"br;q=0, gzip", "gzip"}, Case{"br;q=0.0, gzip;q=0.5", "gzip"},
                        Case{"*", "br"}, Case{"*, br;q=0", "gzip"}, Case{"identity", ""},
                        Case{"zstd", ""}, Case{"gzip;q=0, br;q=0", ""}, Case{"", ""}}) {
    Response response = get(client, "/app.js", c.accept);
    EXPECT_EQ(response.status, 200) << c.accept;
    EXPECT_EQ(response.header("Vary"), "Accept-Encoding") << c.accept;
    EXPECT_EQ(response.header("Content-Type"), "text/javascript") << c.accept;
    if (c.encoding.empty()) {
      EXPECT_FALSE(response.header("Content-Encoding")) << c.accept;
      EXPECT_TRUE(response.body == original) << c.accept;
    } else {
      EXPECT_EQ(response.header("Content-Encoding"), c.encoding) << c.accept;
      EXPECT_EQ(response.body, c.encoding == "br" ? "BROTLI-BYTES" : "GZIP-BYTES-LONGER") << c.accept;
      EXPECT_NE(response.header("ETag"), plain.header("ETag")) << "a sibling has its own ETag";
    }
  }
  ServerProcess gzip_first(root.path(), {"--precompressed", "gzip,br"});
  Client other(gzip_first.port());
  EXPECT_EQ(get(other, "/app.js", "br, gzip").header("Content-Encoding"), "gzip");
}

TEST_F(PrecompressedTest, OlderSiblingsAndNonFilesAreIgnored) {
  ServerProcess server(root.path());
  Client client(server.port());
  Response css = get(client, "/style.css", "gzip");
  EXPECT_EQ(css.body, "body{}");
  EXPECT_FALSE(css.header("Content-Encoding"));
  Response dir = get(client, "/dir", "br");
  EXPECT_EQ(dir.body, "plain dir file");
  EXPECT_EQ(get(client, "/dir.br", "").status, 301);  // still its own directory
  // A directory index has siblings too.
  Response docs = get(client, "/docs/", "gzip");
  EXPECT_EQ(docs.header("Content-Encoding"), "gzip");
  EXPECT_EQ(docs.body, "DOCS-GZ");
  EXPECT_EQ(docs.header("Content-Type"), "text/html");
}

TEST_F(PrecompressedTest, ValidatorsAndRangesApplyToTheEncodedRepresentation) {
  ServerProcess server(root.path());
  Client client(server.port());
  Response br = get(client, "/app.js", "br");
  Response identity = get(client, "/app.js", "");
  Response not_modified = get(client, "/app.js", "br", "If-None-Match: " + *br.header("ETag") + "\r\n");
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(not_modified.header("ETag"), br.header("ETag"));
  // The identity ETag does not validate the br representation.
  EXPECT_EQ(get(client, "/app.js", "br", "If-None-Match: " + *identity.header("ETag") + "\r\n").status, 200);
  Response partial = get(client, "/app.js", "gzip", "Range: bytes=0-3\r\n");
  EXPECT_EQ(partial.status, 206);
  EXPECT_EQ(partial.body, "GZIP");
  EXPECT_EQ(partial.header("Content-Range"), "bytes 0-3/17");
  EXPECT_EQ(partial.header("Content-Encoding"), "gzip");
  Response head = get(client, "/app.js", "br", "", "HEAD");
  EXPECT_EQ(head.header("Content-Length"), "12");
  EXPECT_EQ(head.header("Content-Encoding"), "br");
}

// A sibling first cached as the encoding of its file is the same cache
// entry a request for it by name finds: it must carry its own rule fields
// either way, as when that request came first.
TEST_F(PrecompressedTest, ASiblingAskedForByNameHasItsRuleFieldsHoweverItWasCached) {
  ServerProcess server(root.path(), {"--header", "*.br: X-Kind: brotli", "--expires", "*.br=1h"});
  Client client(server.port());
  EXPECT_EQ(get(client, "/app.js", "br").body, "BROTLI-BYTES");  // cached as app.js's sibling
  Response direct = get(client, "/app.js.br", "");
  EXPECT_EQ(direct.body, "BROTLI-BYTES");
  EXPECT_EQ(direct.header("X-Kind"), "brotli");
  EXPECT_EQ(direct.header("Cache-Control"), "max-age=3600");
  EXPECT_TRUE(direct.header("Expires").has_value());
}

TEST_F(PrecompressedTest, OffMeansNoSiblingsAndNoVary) {
  ServerProcess server(root.path(), {"--precompressed", "off"});
  Client client(server.port());
  Response response = get(client, "/app.js", "br, gzip");
  EXPECT_TRUE(response.body == original);
  EXPECT_FALSE(response.header("Vary"));
  EXPECT_FALSE(response.header("Content-Encoding"));
  auto [status, text] = run_to_exit({"--root", root.path(), "--precompressed", "lzma"});
  EXPECT_EQ(status, 2) << text;
  EXPECT_NE(text.find("--precompressed"), std::string::npos) << text;
}

TEST_F(PrecompressedTest, CacheDisabledStillChoosesSiblings) {
  ServerProcess server(root.path(), {"--cache-entries", "0"});
  Client client(server.port());
  EXPECT_EQ(get(client, "/app.js", "br").header("Content-Encoding"), "br");
  EXPECT_TRUE(get(client, "/app.js", "zstd").body == original);
}

TEST_F(PrecompressedTest, CurlDecompressesARealGzipSibling) {
  if (std::system("command -v curl >/dev/null 2>&1 && command -v gzip >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "curl or gzip is not installed";
  }
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "line " + std::to_string(i) + " of a compressible file\n";
  }
  std::string path = root.write("big.txt", text);
  ASSERT_EQ(std::system(("gzip -9 -k " + path).c_str()), 0);  // big.txt.gz, newer than big.txt
  ServerProcess server(root.path());
  TempDir out;
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/big.txt";
  ASSERT_EQ(std::system(("curl -sf -H 'Accept-Encoding: gzip' --compressed -D " + out.path() +
                         "/headers -o " + out.path() + "/body " + url)
                            .c_str()),
            0);
  EXPECT_EQ(read_file(out.path() + "/body"), text);
  EXPECT_NE(read_file(out.path() + "/headers").find("Content-Encoding: gzip"), std::string::npos);
}

}  // namespace
}  // namespace ringhttpd::test
