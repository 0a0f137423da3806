// Chunked request bodies (RFC 9112 §7.1), scanned in any split.

#include "src/http/chunked.h"

#include <gtest/gtest.h>

#include <string>

namespace ringhttpd {
namespace {

struct Scan {
  ChunkedStatus status;
  size_t used;
};

// The body given whole, then split at every offset: the same answer.
Scan scan_whole(const std::string& bytes, ChunkedLimits limits = {}) {
  ChunkedBody body;
  size_t used = 0;
  ChunkedStatus status = scan_chunked(body, bytes, limits, used);
  for (size_t split = 1; split < bytes.size(); ++split) {
    ChunkedBody parts;
    size_t first = 0;
    ChunkedStatus head = scan_chunked(parts, std::string_view(bytes).substr(0, split), limits, first);
    if (head != ChunkedStatus::more) {
      EXPECT_EQ(head, status) << split;
      continue;
    }
    size_t second = 0;
    ChunkedStatus tail = scan_chunked(parts, std::string_view(bytes).substr(split), limits, second);
    EXPECT_EQ(tail, status) << split;
    if (status == ChunkedStatus::done) {
      EXPECT_EQ(first + second, used) << split;
    }
  }
  return {status, used};
}

TEST(Chunked, WellFormedBodiesEndWhereTheyEnd) {
  EXPECT_EQ(scan_whole("0\r\n\r\n").status, ChunkedStatus::done);
  Scan two = scan_whole("5\r\nhello\r\nA;name=value\r\n0123456789\r\n0\r\n\r\nGET /next");
  EXPECT_EQ(two.status, ChunkedStatus::done);
  EXPECT_EQ(two.used, std::string("5\r\nhello\r\nA;name=value\r\n0123456789\r\n0\r\n\r\n").size());
  EXPECT_EQ(scan_whole("3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n").status, ChunkedStatus::done);
  EXPECT_EQ(scan_whole("000\r\n\r\n").status, ChunkedStatus::done);
  EXPECT_EQ(scan_whole("5\r\nhel").status, ChunkedStatus::more);
}

TEST(Chunked, MalformedFramingIs400) {
  for (const char* bad : {"x\r\n", "\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhello0\r\n\r\n",
                          "5\r\nhello\r\n0\r\r\n", "-1\r\n", "5 x\r\n", "0\r\nbad\x01\r\n\r\n"}) {
    EXPECT_EQ(scan_whole(bad).status, ChunkedStatus::malformed) << bad;
  }
}

TEST(Chunked, LimitsAre413) {
  ChunkedLimits small;
  small.max_data_bytes = 10;
  EXPECT_EQ(scan_whole("B\r\n", small).status, ChunkedStatus::too_large);  // 11 announced
  EXPECT_EQ(scan_whole("5\r\nhello\r\n6\r\nhello!\r\n", small).status, ChunkedStatus::too_large);
  EXPECT_EQ(scan_whole("10000000000000000\r\n").status, ChunkedStatus::too_large);  // 17 digits
  std::string long_extension = "1;" + std::string(5000, 'e') + "\r\n";
  EXPECT_EQ(scan_whole(long_extension).status, ChunkedStatus::too_large);
}

}  // namespace
}  // namespace ringhttpd
