#include "src/http/response.h"

#include <gtest/gtest.h>

#include <string>

namespace ringhttpd {
namespace {

TEST(Response, FileHead) {
  char buffer[512];
  HeaderWriter head(buffer, sizeof buffer);
  render_file_head(head, {"Sun, 06 Nov 1994 08:49:37 GMT", ""},
                   {1234, "text/html", "Sun, 06 Nov 1994 08:49:37 GMT", "\"2ebc98a1.5-4d2\""});
  ASSERT_FALSE(head.overflowed());
  EXPECT_EQ(head.text(),
            "HTTP/1.1 200 OK\r\n"
            "Server: ringhttpd\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Content-Type: text/html\r\n"
            "Content-Length: 1234\r\n"
            "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "ETag: \"2ebc98a1.5-4d2\"\r\n"
            "Accept-Ranges: bytes\r\n"
            "\r\n");
}

TEST(Response, StatusWithBodyAndConnectionClose) {
  char buffer[512];
  HeaderWriter head(buffer, sizeof buffer);
  render_status_response(head, {"D", "close"}, 405, false, "Allow", {"GET, HEAD"});
  EXPECT_EQ(head.text(),
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Server: ringhttpd\r\nDate: D\r\nConnection: close\r\n"
            "Allow: GET, HEAD\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n\r\n"
            "405 Method Not Allowed\n");
}

TEST(Response, HeadOmitsBodyButKeepsLength) {
  char buffer[512];
  HeaderWriter head(buffer, sizeof buffer);
  render_status_response(head, {"D", ""}, 404, true);
  EXPECT_NE(head.text().find("Content-Length: 14\r\n\r\n"), std::string::npos);
  EXPECT_EQ(head.text().substr(head.size() - 4), "\r\n\r\n");
}

TEST(Response, LocationFromParts) {
  char buffer[512];
  HeaderWriter head(buffer, sizeof buffer);
  render_status_response(head, {"D", ""}, 301, false, "Location", {"./", "a:b", "/", "?q=1"});
  EXPECT_NE(head.text().find("Location: ./a:b/?q=1\r\n"), std::string::npos);
}

TEST(Response, OverflowIsReportedNotWritten) {
  char buffer[40];
  HeaderWriter head(buffer, sizeof buffer);
  render_status_response(head, {"D", ""}, 404, false);
  EXPECT_TRUE(head.overflowed());
  EXPECT_LE(head.size(), sizeof buffer);
}

}  // namespace
}  // namespace ringhttpd
