#include "conf/mime_types.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace ringhttpd {
namespace {

TEST(MimeTypes, BuiltinTableHasModernTypes) {
  MimeTypes types;
  EXPECT_EQ(types.lookup("/a/app.wasm"), "application/wasm");
  EXPECT_EQ(types.lookup("/img/x.webp"), "image/webp");
  EXPECT_EQ(types.lookup("/img/x.avif"), "image/avif");
  EXPECT_EQ(types.lookup("/f/x.woff2"), "font/woff2");
  EXPECT_EQ(types.lookup("/m.mjs"), "text/javascript");
  EXPECT_EQ(types.lookup("/index.html"), "text/html");
}

TEST(MimeTypes, CaseInsensitiveAndDefaults) {
  MimeTypes types;
  EXPECT_EQ(types.lookup("/A.HTML"), "text/html");
  EXPECT_EQ(types.lookup("/README"), MimeTypes::default_type);
  EXPECT_EQ(types.lookup("/dir.d/file"), MimeTypes::default_type);  // dot in a directory only
  EXPECT_EQ(types.lookup("/x."), MimeTypes::default_type);
  EXPECT_EQ(types.lookup("/x.unknownext"), MimeTypes::default_type);
  EXPECT_EQ(types.lookup("/x." + std::string(100, 'a')), MimeTypes::default_type);
  EXPECT_EQ(types.lookup("/archive.tar.gz"), "application/gzip");
}

TEST(MimeTypes, LoadsMimeTypesFileOverBuiltins) {
  char path[] = "/tmp/ringhttpd-mime-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream file(path);
    file << "# comment line\n"
         << "text/x-custom\t\tcust cst\n"
         << "text/plain-override html   # trailing comment\n"
         << "\n"
         << "not-a-type ext\n";
  }
  MimeTypes types;
  ASSERT_TRUE(types.load_file(path));
  EXPECT_EQ(types.lookup("/a.cust"), "text/x-custom");
  EXPECT_EQ(types.lookup("/a.CST"), "text/x-custom");
  EXPECT_EQ(types.lookup("/a.html"), "text/plain-override");
  EXPECT_EQ(types.lookup("/a.ext"), MimeTypes::default_type);
  EXPECT_EQ(types.lookup("/a.wasm"), "application/wasm");  // built-in kept
  unlink(path);
  EXPECT_FALSE(types.load_file("/nonexistent/mime.types"));
}

TEST(MimeTypes, SystemFileWhenPresent) {
  MimeTypes types;
  if (!types.load_file("/etc/mime.types")) {
    GTEST_SKIP() << "no /etc/mime.types on this machine";
  }
  EXPECT_GT(types.size(), 500u);
  EXPECT_EQ(types.lookup("/a.css"), "text/css");
  EXPECT_EQ(types.lookup("/a.png"), "image/png");
}

}  // namespace
}  // namespace ringhttpd
