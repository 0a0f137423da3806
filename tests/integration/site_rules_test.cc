// Site rules seen from outside: dotfiles, symlink policy, OPTIONS, and
// extra headers by path rule.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "src/http/conditional.h"
#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

struct SiteRulesTest : ::testing::Test {
  SiteRulesTest() {
    root.write(".env", "SECRET=1");
    root.write(".git/config", "[core]");
    root.write(".well-known/security.txt", "Contact: a@b");
    root.write(".well-known/.hidden", "no");
    root.write("assets/app.3f9a1c.js", "js();");
    root.write("docs/index.html", "<p>docs</p>");
    root.write("page.txt", "text");
    std::filesystem::create_symlink("page.txt", root.path() + "/link.txt");
  }
  TempDir root;
};

TEST_F(SiteRulesTest, DotfilesAreHiddenButWellKnownIsServed) {
  ServerProcess server(root.path());
  Client client(server.port());
  EXPECT_EQ(client.get("/.env").status, 404);
  EXPECT_EQ(client.get("/.git/config").status, 404);
  EXPECT_EQ(client.get("/%2egit/config").status, 404);  // decoded first
  EXPECT_EQ(client.get("/.well-known/security.txt").body, "Contact: a@b");
  EXPECT_EQ(client.get("/.well-known/.hidden").status, 404);
  ServerProcess permissive(root.path(), {"--allow-dotfiles"});
  Client other(permissive.port());
  EXPECT_EQ(other.get("/.env").body, "SECRET=1");
}

TEST_F(SiteRulesTest, SymlinksFollowedWithinTheRootUnlessRefused) {
  ServerProcess server(root.path());
  Client client(server.port());
  EXPECT_EQ(client.get("/link.txt").body, "text");
  ServerProcess strict(root.path(), {"--no-symlinks"});
  Client other(strict.port());
  EXPECT_EQ(other.get("/link.txt").status, 403);
  EXPECT_EQ(other.get("/page.txt").body, "text");
}

TEST_F(SiteRulesTest, OptionsAnswersWithAllow) {
  ServerProcess server(root.path());
  Client client(server.port());
  for (const char* target : {"*", "/page.txt", "/nothing-here"}) {
    client.send(std::string("OPTIONS ") + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
    Response response = client.read_response();
    EXPECT_EQ(response.status, 204) << target;
    EXPECT_EQ(response.header("Allow"), "GET, HEAD, OPTIONS") << target;
    EXPECT_FALSE(response.header("Content-Length")) << target;
  }
  EXPECT_EQ(client.get("/page.txt").body, "text");  // no stray body after the 204s
  EXPECT_EQ(client.get("*").status, 400);          // "*" is for OPTIONS only
}

TEST_F(SiteRulesTest, HeaderRulesApplyToFileResponsesOnly) {
  ServerProcess server(root.path(),
                       {"--header", "/assets/: Cache-Control: public, max-age=31536000, immutable",
                        "--header", "*.js: X-Content-Type-Options: nosniff",
                        "--expires", "*.html=10m"});
  Client client(server.port());
  Response asset = client.get("/assets/app.3f9a1c.js");
  EXPECT_EQ(asset.header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(asset.header("X-Content-Type-Options"), "nosniff");
  EXPECT_FALSE(asset.header("Expires"));
  // 206 and 304 carry them too; a cache updating its copy needs them.
  Response partial = client.get("/assets/app.3f9a1c.js", "Range: bytes=0-1\r\n");
  EXPECT_EQ(partial.status, 206);
  EXPECT_EQ(partial.header("Cache-Control"), asset.header("Cache-Control"));
  Response not_modified = client.get("/assets/app.3f9a1c.js", "If-None-Match: " + *asset.header("ETag") + "\r\n");
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.header("Cache-Control"), asset.header("Cache-Control"));

  Response docs = client.get("/docs/");  // the rule matches the file served: index.html
  EXPECT_EQ(docs.header("Cache-Control"), "max-age=600");
  ASSERT_TRUE(docs.header("Expires"));
  std::optional<time_t> expires = parse_http_date(*docs.header("Expires"));
  std::optional<time_t> date = parse_http_date(*docs.header("Date"));
  ASSERT_TRUE(expires && date);
  EXPECT_EQ(*expires - *date, 600);

  Response missing = client.get("/assets/missing.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_FALSE(missing.header("Cache-Control"));
  EXPECT_FALSE(missing.header("X-Content-Type-Options"));
}

// The same rules through a real client: curl's view of status and headers.
TEST_F(SiteRulesTest, RulesSeenByCurl) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "curl is not installed";
  }
  TempDir sites;
  sites.write("example.com/page.txt", "example page");
  sites.write("example.com/.env", "x");
  sites.write("example.com/.well-known/a.txt", "wk");
  sites.write("_default/page.txt", "default page");
  ServerProcess server(sites.path(), {"--vhosts", "--header", "*.txt: X-Rule: on"});
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  TempDir out;
  struct Case {
    std::string curl_args;
    std::string expected_status;
    std::string expected_in_headers;
  };
  for (const Case& c : {
           Case{"-X OPTIONS " + base + "/page.txt", "204", "Allow: GET, HEAD, OPTIONS"},
           Case{"-H 'Host: example.com' " + base + "/.env", "404", ""},
           Case{"-H 'Host: example.com' " + base + "/.well-known/a.txt", "200", "X-Rule: on"},
           Case{"-H 'Host: example.com' " + base + "/page.txt", "200", "Content-Length: 12"},
           Case{"-H 'Host: elsewhere.net' " + base + "/page.txt", "200", "Content-Length: 12"},
           Case{"-r 0-6 -H 'Host: example.com' " + base + "/page.txt", "206", "Content-Range: bytes 0-6/12"},
           Case{"-r 50-60 -H 'Host: example.com' " + base + "/page.txt", "416", "Content-Range: bytes */12"},
       }) {
    std::string command = "curl -s -D " + out.path() + "/headers -o " + out.path() + "/body -w '%{http_code}' " +
                          c.curl_args + " > " + out.path() + "/status";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    EXPECT_EQ(read_file(out.path() + "/status"), c.expected_status) << c.curl_args;
    EXPECT_NE(read_file(out.path() + "/headers").find(c.expected_in_headers), std::string::npos)
        << c.curl_args << "\n" << read_file(out.path() + "/headers");
  }
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(SiteRulesTest, BadRulesExitTwo) {
  auto [status, text] = run_to_exit({"--root", root.path(), "--header", "/: Content-Length: 1"});
  EXPECT_EQ(status, 2) << text;
  EXPECT_NE(text.find("--header"), std::string::npos) << text;
  auto [expires_status, expires_text] = run_to_exit({"--root", root.path(), "--expires", "*.js"});
  EXPECT_EQ(expires_status, 2) << expires_text;
}

}  // namespace
}  // namespace ringhttpd::test
