// The response planner alone: what each answer's head and pieces are, and
// the multipart arithmetic, without a socket.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/http_date.h"
#include "src/http/response.h"
#include "src/plan/boundary.h"
#include "src/plan/file_plan.h"
#include "src/plan/multipart.h"
#include "src/plan/representation.h"
#include "src/plan/status_plan.h"

namespace ringhttpd {
namespace {

struct PlanFixture : ::testing::Test {
  PlanFixture() {
    context.scratch = scratch.data();
    context.scratch_capacity = static_cast<uint32_t>(scratch.size());
    context.common.date = "Tue, 01 Dec 2026 12:00:00 GMT";
    file("app.js", 1000, 1'700'000'000, asked);
  }
  static void file(const char* path, uint64_t size, int64_t mtime, CacheEntry& entry) {
    entry.kind = EntryKind::file;
    entry.resolved_path = path;
    entry.info.size = size;
    entry.info.mtime_sec = mtime;
    entry.info.mode = S_IFREG | 0644;
    entry.content_type = "text/javascript";
    entry.etag_bytes = static_cast<uint8_t>(format_etag(entry.info, entry.etag));
    format_http_date(mtime, entry.last_modified);
  }
  Request request_with(std::string_view range = {}, std::string_view if_none_match = {}) {
    Request request;
    request.method = Method::get;
    request.range = range;
    request.if_none_match = if_none_match;
    return request;
  }
  FileAnswer answer_for(const Request& request) {
    FileAnswer answer;
    answer.request = &request;
    answer.asked = &asked;
    answer.served = &asked;
    answer.now_seconds = 1'800'000'000;
    answer.boundary_seed = 0xabcdef;
    return answer;
  }
  std::string head() const { return std::string(scratch.data(), plan.piece_end[0]); }
  std::string piece(uint8_t k) const {
    return std::string(scratch.data() + plan.piece_start(k), plan.piece_bytes(k));
  }
  // The whole body a plan describes, with the file's bytes as `body`: what
  // follows the head in piece 0 (a first part header), then each range and
  // the piece after it.
  std::string body_of(const std::string& body) const {
    std::string first = piece(0);
    std::string out = first.substr(first.find("\r\n\r\n") + 4);
    for (uint8_t k = 0; k <= plan.range_count; ++k) {
      if (k > 0) {
        out += piece(k);
      }
      if (k < plan.range_count) {
        out += body.substr(plan.ranges[k].first, plan.ranges[k].length);
      }
    }
    return out;
  }

  std::vector<char> scratch = std::vector<char>(8192);
  PlanContext context;
  SendPlan plan;
  CacheEntry asked;
};

TEST_F(PlanFixture, StatusIsAHeadAndASmallBody) {
  ASSERT_TRUE(plan_status(context, 404, plan));
  EXPECT_EQ(plan.status, 404);
  EXPECT_EQ(plan.range_count, 0);
  EXPECT_EQ(plan.body_bytes, 14u);  // "404 Not Found\n"
  EXPECT_TRUE(head().starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_TRUE(head().ends_with("\r\n\r\n404 Not Found\n"));
  context.head_only = true;
  ASSERT_TRUE(plan_status(context, 405, plan));
  EXPECT_EQ(plan.body_bytes, 0u);
  EXPECT_NE(head().find("Allow: GET, HEAD, OPTIONS\r\n"), std::string::npos);
  EXPECT_TRUE(head().ends_with("\r\n\r\n"));
}

TEST_F(PlanFixture, DirectoryRedirectIsRelative) {
  ASSERT_TRUE(plan_directory_redirect(context, "docs", "?x=1", plan));
  EXPECT_EQ(plan.status, 301);
  EXPECT_NE(head().find("Location: docs/?x=1\r\n"), std::string::npos);
  ASSERT_TRUE(plan_directory_redirect(context, "b:c", "", plan));
  EXPECT_NE(head().find("Location: ./b:c/\r\n"), std::string::npos);  // never a scheme
  // Bytes a browser reads its own way are encoded: "\\evil.com" would be "//evil.com".
  ASSERT_TRUE(plan_directory_redirect(context, "\\\\evil.com\\x y%?#\xc3\xa9", "", plan));
  EXPECT_NE(head().find("Location: %5C%5Cevil.com%5Cx%20y%25%3F%23%C3%A9/\r\n"), std::string::npos)
      << head();
}

TEST_F(PlanFixture, HeadThatDoesNotFitIsRefused) {
  context.scratch_capacity = 40;
  EXPECT_FALSE(plan_status(context, 404, plan));
}

TEST_F(PlanFixture, WholeFile) {
  Request request = request_with();
  ASSERT_TRUE(plan_file(context, answer_for(request), plan));
  EXPECT_EQ(plan.status, 200);
  EXPECT_EQ(plan.range_count, 1);
  EXPECT_EQ(plan.ranges[0].first, 0u);
  EXPECT_EQ(plan.ranges[0].length, 1000u);
  EXPECT_EQ(plan.content_length, 1000u);
  EXPECT_EQ(plan.body_bytes, 1000u);
  EXPECT_EQ(plan.piece_bytes(1), 0u);  // nothing after the body
  EXPECT_NE(head().find("Content-Length: 1000\r\n"), std::string::npos);
  EXPECT_NE(head().find("ETag: " + std::string(asked.etag_text()) + "\r\n"), std::string::npos);
}

TEST_F(PlanFixture, HeadAndEmptyFilesAreTheHeadAlone) {
  context.head_only = true;
  Request request = request_with();
  ASSERT_TRUE(plan_file(context, answer_for(request), plan));
  EXPECT_EQ(plan.range_count, 0);
  EXPECT_EQ(plan.body_bytes, 0u);
  EXPECT_NE(head().find("Content-Length: 1000\r\n"), std::string::npos);
  context.head_only = false;
  file("empty.txt", 0, 1, asked);
  ASSERT_TRUE(plan_file(context, answer_for(request), plan));
  EXPECT_EQ(plan.status, 200);
  EXPECT_EQ(plan.range_count, 0);
  EXPECT_NE(head().find("Content-Length: 0\r\n"), std::string::npos);
}

TEST_F(PlanFixture, Preconditions) {
  Request matching = request_with({}, asked.etag_text());
  ASSERT_TRUE(plan_file(context, answer_for(matching), plan));
  EXPECT_EQ(plan.status, 304);
  EXPECT_EQ(plan.range_count, 0);
  EXPECT_EQ(head().find("Content-Length"), std::string::npos);
  Request failing = request_with();
  failing.if_match = "\"other\"";
  ASSERT_TRUE(plan_file(context, answer_for(failing), plan));
  EXPECT_EQ(plan.status, 412);
}

TEST_F(PlanFixture, Ranges) {
  Request one = request_with("bytes=10-19");
  ASSERT_TRUE(plan_file(context, answer_for(one), plan));
  EXPECT_EQ(plan.status, 206);
  EXPECT_EQ(plan.range_count, 1);
  EXPECT_EQ(plan.content_length, 10u);
  EXPECT_NE(head().find("Content-Range: bytes 10-19/1000\r\n"), std::string::npos);
  Request none = request_with("bytes=5000-");
  ASSERT_TRUE(plan_file(context, answer_for(none), plan));
  EXPECT_EQ(plan.status, 416);
  EXPECT_NE(head().find("Content-Range: bytes */1000\r\n"), std::string::npos);
}

TEST_F(PlanFixture, MultipartContentLengthIsWhatIsSent) {
  std::string body(1000, 'x');
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>('a' + i % 26);
  }
  Request request = request_with("bytes=0-0,10-19,995-");
  ASSERT_TRUE(plan_file(context, answer_for(request), plan));
  EXPECT_EQ(plan.status, 206);
  ASSERT_GE(plan.range_count, 2);
  std::string sent = body_of(body);
  EXPECT_EQ(plan.content_length, sent.size());
  EXPECT_EQ(plan.body_bytes, sent.size());
  EXPECT_NE(head().find("Content-Length: " + std::to_string(sent.size()) + "\r\n"), std::string::npos);
  EXPECT_NE(head().find("multipart/byteranges; boundary=0000000000abcdef\r\n"), std::string::npos);
  EXPECT_TRUE(sent.starts_with("--0000000000abcdef\r\nContent-Type: text/javascript\r\n"));
  EXPECT_TRUE(sent.ends_with("\r\n--0000000000abcdef--\r\n"));
  EXPECT_NE(sent.find("Content-Range: bytes 10-19/1000\r\n\r\nklmnopqrst"), std::string::npos);
}

TEST(Multipart, ArithmeticMatchesTheRendering) {
  std::string long_type(700, 't');
  for (std::string_view type : {std::string_view("a/b"), std::string_view(long_type)}) {
    for (uint64_t complete : {1ull, 9ull, 10ull, 12345ull, 999'999'999'999'999'999ull}) {
      MultipartShape shape{"0123456789abcdef", type, complete};
      for (ByteRange range : {ByteRange{0, 1}, ByteRange{complete - 1, 1}, ByteRange{0, complete}}) {
        for (bool first : {true, false}) {
          std::vector<char> buffer(2048);
          HeaderWriter out(buffer.data(), buffer.size());
          render_part_header(out, first, shape.boundary, shape.content_type, range, complete);
          ASSERT_FALSE(out.overflowed());
          EXPECT_EQ(part_header_bytes(shape, first, range), out.size())
              << type.size() << " " << complete << " " << range.first;
        }
      }
    }
  }
  std::vector<char> buffer(128);
  HeaderWriter end(buffer.data(), buffer.size());
  render_multipart_end(end, "0123456789abcdef");
  EXPECT_EQ(multipart_end_bytes("0123456789abcdef"), end.size());
}

TEST_F(PlanFixture, SiblingSendsItsOwnValidatorsWithTheFilesType) {
  CacheEntry gzipped;
  file("app.js.gz", 300, 1'700'000'005, gzipped);
  gzipped.content_type = "application/gzip";
  asked.extra_fields = "X-Rule: 1\r\n";
  asked.max_age_seconds = 60;
  Request request = request_with();
  FileAnswer answer = answer_for(request);
  answer.served = &gzipped;
  answer.content_encoding = "gzip";
  answer.vary_accept_encoding = true;
  ASSERT_TRUE(plan_file(context, answer, plan));
  EXPECT_EQ(plan.content_length, 300u);
  EXPECT_NE(head().find("Content-Type: text/javascript\r\n"), std::string::npos);
  EXPECT_NE(head().find("Content-Encoding: gzip\r\n"), std::string::npos);
  EXPECT_NE(head().find("Vary: Accept-Encoding\r\n"), std::string::npos);
  EXPECT_NE(head().find("ETag: " + std::string(gzipped.etag_text())), std::string::npos);
  EXPECT_NE(head().find("X-Rule: 1\r\n"), std::string::npos);
  char expires[http_date_bytes];
  format_http_date(1'800'000'060, expires);
  EXPECT_NE(head().find("Expires: " + std::string(expires, http_date_bytes)), std::string::npos);
}

TEST(Representation, CodingsAndCurrency) {
  std::vector<ContentCoding> codings{ContentCoding::br, ContentCoding::zstd, ContentCoding::gzip};
  std::array<uint8_t, 3> order{};
  // RFC 9110 §12.5.3: the highest weight wins; the server's order breaks ties.
  ASSERT_EQ(rank_codings(codings, coding_weights("br;q=0.1, gzip"), order), 2u);
  EXPECT_EQ(order[0], 2u);  // gzip (q=1) before br (q=0.1)
  EXPECT_EQ(order[1], 0u);
  ASSERT_EQ(rank_codings(codings, coding_weights("gzip, br, zstd"), order), 3u);
  EXPECT_EQ(order, (std::array<uint8_t, 3>{0, 1, 2}));  // equal weights: the server's order
  ASSERT_EQ(rank_codings(codings, coding_weights("*;q=0.5, br;q=0"), order), 2u);
  EXPECT_EQ(order[0], 1u);  // zstd and gzip by "*", br refused
  EXPECT_EQ(rank_codings(codings, coding_weights("identity"), order), 0u);
  EXPECT_EQ(coding_weights("gzip;q=0.25").of(ContentCoding::gzip), 250u);
  EXPECT_EQ(coding_weights("gzip;q=1.000").of(ContentCoding::gzip), 1000u);
  EXPECT_EQ(coding_weights("gzip;q=1.5").of(ContentCoding::gzip), 0u);  // malformed: refused
  CacheEntry original;
  CacheEntry sibling;
  original.info.mtime_sec = 10;
  original.info.mtime_nsec = 5;
  sibling.info.mtime_sec = 10;
  sibling.info.mtime_nsec = 5;
  EXPECT_TRUE(sibling_is_current(sibling, original));
  sibling.info.mtime_nsec = 4;
  EXPECT_FALSE(sibling_is_current(sibling, original));  // left behind by an older deploy
}

// The reference vector of SipHash-2-4 (key 00..0f, message 00..07), and
// boundaries that follow no visible state.
TEST(Boundary, SipHashAndSuccessiveBoundaries) {
  BoundaryMaker reference({0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL});
  EXPECT_EQ(reference.siphash_2_4(0x0706050403020100ULL), 0x93f5f5799a932462ULL);
  BoundaryMaker a;
  BoundaryMaker b;
  uint64_t first = a.next();
  EXPECT_NE(first, a.next());
  EXPECT_NE(first, b.next());  // another key: another sequence
}

}  // namespace
}  // namespace ringhttpd
