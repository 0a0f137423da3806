#include "src/http/path.h"

#include <gtest/gtest.h>

#include <string>

namespace ringhttpd {
namespace {

struct Normalized {
  uint16_t status;
  std::string path;
  bool trailing_slash;
};

Normalized normalize(std::string_view target) {
  std::string out(target.size() + 2, '\0');
  NormalizedPath result = normalize_target(target, out.data(), out.size());
  out.resize(result.error_status == 0 ? result.length : 0);
  return {result.error_status, out, result.trailing_slash};
}

TEST(PathNormalizer, PlainPaths) {
  EXPECT_EQ(normalize("/").path, "/");
  EXPECT_TRUE(normalize("/").trailing_slash);
  EXPECT_EQ(normalize("/a/b.html").path, "/a/b.html");
  EXPECT_FALSE(normalize("/a/b.html").trailing_slash);
  EXPECT_EQ(normalize("/a/b/").path, "/a/b/");
  EXPECT_TRUE(normalize("/a/b/").trailing_slash);
  EXPECT_EQ(normalize("/a/b?x=1&y=/../..").path, "/a/b");
  EXPECT_EQ(normalize("/a%20b").path, "/a b");
  EXPECT_EQ(normalize("/caf%C3%A9").path, "/caf\xC3\xA9");
}

TEST(PathNormalizer, DotSegments) {
  EXPECT_EQ(normalize("/a/./b").path, "/a/b");
  EXPECT_EQ(normalize("/a/../b").path, "/b");
  EXPECT_EQ(normalize("/a/b/..").path, "/a/");
  EXPECT_EQ(normalize("/a/b/.").path, "/a/b/");
  EXPECT_EQ(normalize("//a///b//").path, "/a/b/");
  EXPECT_EQ(normalize("/a/..").path, "/");
  EXPECT_EQ(normalize("/..a/b..").path, "/..a/b..");  // not dot segments
  EXPECT_EQ(normalize("/.well-known/x").path, "/.well-known/x");
}

TEST(PathNormalizer, AbsoluteForm) {
  EXPECT_EQ(normalize("http://example.com/a/b").path, "/a/b");
  EXPECT_EQ(normalize("HTTPS://example.com:8443/a?q").path, "/a");
  EXPECT_EQ(normalize("http://example.com").path, "/");
  EXPECT_EQ(normalize("http://example.com?x").path, "/");
}

// Every traversal shape ends as 400 or as a path that stays under the root.
TEST(PathNormalizer, TraversalCorpus) {
  for (std::string_view attack : {
           "/../etc/passwd",
           "/a/../../etc/passwd",
           "/%2e%2e/etc/passwd",
           "/%2E%2E/%2e%2e/etc/passwd",
           "/.%2e/etc/passwd",
           "/%2e./etc/passwd",
           "/a/%2e%2e/%2e%2e/etc/passwd",
           "/..%2fetc/passwd",
           "/a%2f..%2f..%2fetc/passwd",
           "/%2F..%2F..%2Fetc/passwd",
           "/..",
           "/a/../..",
           "http://x/../etc/passwd",
       }) {
    EXPECT_EQ(normalize(attack).status, 400) << attack;
  }
  // Encoded slashes are separators, so inside the root they just work.
  EXPECT_EQ(normalize("/a%2fb").path, "/a/b");
  EXPECT_EQ(normalize("/a%2F..%2Fb").path, "/b");
}

TEST(PathNormalizer, RejectsNulControlsAndBadEscapes) {
  for (std::string_view bad : {"/a%00b", "/a%00", "/%0a", "/%0d%0aSet-Cookie:x", "/%7f", "/a%",
                               "/a%2", "/a%zz", "/a%g0", "a/b", "*", "", "/a#frag"}) {
    EXPECT_EQ(normalize(bad).status, 400) << bad;
  }
}

TEST(PathNormalizer, RejectsOverlongAndInvalidUtf8) {
  for (std::string_view bad : {
           "/%c0%ae%c0%ae/etc/passwd",   // overlong "."
           "/%c0%af",                    // overlong "/"
           "/%e0%80%af",                 // 3-byte overlong "/"
           "/%f0%80%80%af",              // 4-byte overlong "/"
           "/%c1%9c",                    // overlong "\"
           "/%ed%a0%80",                 // UTF-16 surrogate
           "/%f4%90%80%80",              // above U+10FFFF
           "/%ff",                       // never valid
           "/%c3",                       // truncated
           "/%80",                       // stray continuation byte
       }) {
    EXPECT_EQ(normalize(bad).status, 400) << bad;
  }
  EXPECT_EQ(normalize("/%f0%9f%98%80").status, 0);  // U+1F600 is fine
}

TEST(PathNormalizer, BackslashIsAnOrdinaryByte) {
  // On Linux "\" never separates path segments: "..\\..\\etc" is one name.
  Normalized result = normalize("/..\\..\\etc\\passwd");
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.path, "/..\\..\\etc\\passwd");
  EXPECT_EQ(normalize("/%5c..%5c..%5cetc").path, "/\\..\\..\\etc");
}

TEST(PathNormalizer, HiddenSegments) {
  EXPECT_TRUE(has_hidden_segment("/.git/config"));
  EXPECT_TRUE(has_hidden_segment("/a/.env"));
  EXPECT_TRUE(has_hidden_segment("/a/.htpasswd/"));
  EXPECT_TRUE(has_hidden_segment("/.well-known/.secret"));
  EXPECT_FALSE(has_hidden_segment("/.well-known/acme-challenge/token"));
  EXPECT_FALSE(has_hidden_segment("/a/b.c/d"));
  EXPECT_FALSE(has_hidden_segment("/"));
  EXPECT_TRUE(has_hidden_segment("/.well-knownx"));
}

TEST(PathNormalizer, TargetComponents) {
  EXPECT_EQ(target_path("/a/b?c=d"), "/a/b");
  EXPECT_EQ(target_query("/a/b?c=d"), "?c=d");
  EXPECT_EQ(target_query("/a/b"), "");
  EXPECT_EQ(target_path("http://h/x?y"), "/x");
  EXPECT_EQ(target_path("HTTPS://h:1/x"), "/x");
  EXPECT_EQ(target_authority("http://h:8080/x"), "h:8080");
  EXPECT_EQ(target_authority("HtTp://Example.com?q"), "Example.com");
  EXPECT_EQ(target_authority("https://h"), "h");
  EXPECT_EQ(target_authority("/http://h/"), std::nullopt);
  EXPECT_EQ(target_authority("http://"), std::nullopt);  // too short to be absolute-form
}

}  // namespace
}  // namespace ringhttpd
