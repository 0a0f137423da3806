#include "src/http/response.h"

#include <gtest/gtest.h>

#include <string>

namespace ringhttpd {
namespace {

TEST(Response, FileHead) {
  char buffer[512];
  HeaderWriter head(buffer, sizeof buffer);
  render_file_head(head, {"Sun, 06 Nov 1994 08:49:37 GMT", ""},
                   {200, 1234, "text/html", "Sun, 06 Nov 1994 08:49:37 GMT", "\"2ebc98a1.5-4d2\""});
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

TEST(Response, PartialAndNotModifiedHeads) {
  char buffer[512];
  ByteRange range{100, 50};
  HeaderWriter partial(buffer, sizeof buffer);
  FileHead head{206, 50, "text/plain", "LM", "\"e\""};
  head.content_range = &range;
  head.complete_length = 1000;
  render_file_head(partial, {"D", ""}, head);
  EXPECT_EQ(partial.text(),
            "HTTP/1.1 206 Partial Content\r\nServer: ringhttpd\r\nDate: D\r\n"
            "Content-Type: text/plain\r\nContent-Length: 50\r\nContent-Range: bytes 100-149/1000\r\n"
            "Last-Modified: LM\r\nETag: \"e\"\r\nAccept-Ranges: bytes\r\n\r\n");
  HeaderWriter not_modified(buffer, sizeof buffer);
  render_file_head(not_modified, {"D", ""}, {304, 0, "text/plain", "LM", "\"e\""});
  EXPECT_EQ(not_modified.text(),
            "HTTP/1.1 304 Not Modified\r\nServer: ringhttpd\r\nDate: D\r\n"
            "Last-Modified: LM\r\nETag: \"e\"\r\n\r\n");
}

TEST(Response, MultipartPieces) {
  char buffer[512];
  HeaderWriter out(buffer, sizeof buffer);
  render_part_header(out, true, "B", "text/plain", {0, 10}, 100);
  render_part_header(out, false, "B", "text/plain", {20, 5}, 100);
  render_multipart_end(out, "B");
  EXPECT_EQ(out.text(),
            "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-9/100\r\n\r\n"
            "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 20-24/100\r\n\r\n"
            "\r\n--B--\r\n");
}

TEST(Response, StatusWithBodyAndConnectionClose) {
  char buffer[512];
  HeaderWriter head(buffer, sizeof buffer);
  render_status_response(head, {"D", "close"}, 405, false, "Allow", {"GET, HEAD, OPTIONS"});
  EXPECT_EQ(head.text(),
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Server: ringhttpd\r\nDate: D\r\nConnection: close\r\n"
            "Allow: GET, HEAD, OPTIONS\r\n"
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
