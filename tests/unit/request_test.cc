#include "src/http/request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringhttpd {
namespace {

using namespace std::string_view_literals;

ParseResult parse(std::string_view input, Request& request, ParseLimits limits = {}) {
  return parse_request(input, limits, request);
}

ParseResult parse(std::string_view input) {
  Request request;
  return parse(input, request);
}

uint16_t error_of(std::string_view input, ParseLimits limits = {}) {
  Request request;
  ParseResult result = parse(input, request, limits);
  EXPECT_EQ(result.status, ParseStatus::error) << input;
  return result.error_status;
}

TEST(RequestParser, ParsesSimpleGet) {
  Request request;
  std::string input = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n";
  ParseResult result = parse(input, request);
  ASSERT_EQ(result.status, ParseStatus::complete);
  EXPECT_EQ(result.head_bytes, input.size());
  EXPECT_EQ(request.method, Method::get);
  EXPECT_EQ(request.target, "/index.html");
  EXPECT_EQ(request.version_minor, 1);
  EXPECT_EQ(request.host, "example.com");
  EXPECT_EQ(request.user_agent, "t/1");
  EXPECT_TRUE(request.keep_alive());
  EXPECT_FALSE(request.has_body());
}

TEST(RequestParser, RecognisesMethods) {
  struct Case {
    const char* text;
    Method method;
  };
  for (Case c : {Case{"GET", Method::get}, Case{"HEAD", Method::head},
                 Case{"OPTIONS", Method::options}, Case{"POST", Method::post},
                 Case{"PUT", Method::put}, Case{"DELETE", Method::delete_},
                 Case{"PATCH", Method::patch}, Case{"TRACE", Method::trace},
                 Case{"CONNECT", Method::connect}, Case{"BREW", Method::unknown},
                 Case{"get", Method::unknown}}) {
    Request request;
    std::string input = std::string(c.text) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(parse(input, request).status, ParseStatus::complete) << c.text;
    EXPECT_EQ(request.method, c.method) << c.text;
  }
}

TEST(RequestParser, ConnectionSemantics) {
  Request request;
  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", request).status, ParseStatus::complete);
  EXPECT_FALSE(request.keep_alive());
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", request).status,
            ParseStatus::complete);
  EXPECT_TRUE(request.keep_alive());
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", request).status,
            ParseStatus::complete);
  EXPECT_FALSE(request.keep_alive());
}

TEST(RequestParser, HeaderNamesAreCaseInsensitiveAndValuesTrimmed) {
  Request request;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nhOsT: \t a.b \t\r\nIF-NONE-MATCH:\"x\"\r\nRange: bytes=0-1\r\n\r\n",
                  request).status,
            ParseStatus::complete);
  EXPECT_EQ(request.host, "a.b");
  EXPECT_EQ(request.if_none_match, "\"x\"");
  EXPECT_EQ(request.range, "bytes=0-1");
}

TEST(RequestParser, IgnoresLeadingEmptyLines) {
  Request request;
  ASSERT_EQ(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", request).status,
            ParseStatus::complete);
  EXPECT_EQ(request.target, "/");
}

TEST(RequestParser, HigherMinorVersionIsAnsweredAsOneOne) {
  Request request;
  ASSERT_EQ(parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n", request).status, ParseStatus::complete);
  EXPECT_EQ(request.version_minor, 1);
}

TEST(RequestParser, IncompleteUntilTheEmptyLine) {
  for (std::string_view partial : {"", "G", "GET", "GET ", "GET /", "GET / HTTP/1", "GET / HTTP/1.1\r",
                                   "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a",
                                   "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"}) {
    EXPECT_EQ(parse(partial).status, ParseStatus::incomplete) << partial;
  }
}

TEST(RequestParser, RejectsMalformedRequestLines) {
  for (std::string_view input : {
           "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",      // two spaces
           "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",      // trailing space
           "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",      // tab separator
           " GET / HTTP/1.1\r\nHost: a\r\n\r\n",      // leading space
           "GET /\r\n\r\n",                           // HTTP/0.9
           "GET / HTTP/1.1\nHost: a\r\n\r\n",         // bare LF after request line
           "GET / HTTP/1.1\rHost: a\r\n\r\n",         // bare CR
           "GET / http/1.1\r\nHost: a\r\n\r\n",       // lowercase version
           "GET / HTTP/1.x\r\nHost: a\r\n\r\n",
           "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n",  // DEL in target
           "G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
       }) {
    EXPECT_EQ(error_of(input), 400) << input;
  }
}

TEST(RequestParser, RejectsGarbageWithoutWaiting) {
  // A TLS ClientHello starts with 0x16 0x03: refused on the first byte.
  EXPECT_EQ(error_of("\x16\x03\x01\x02\x00"sv), 400);
  EXPECT_EQ(error_of("GET / FTP/"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\n"), 400);  // bare LF in a field
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHo st"), 400);
}

TEST(RequestParser, RejectsUnsupportedVersions) {
  EXPECT_EQ(error_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  EXPECT_EQ(error_of("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
}

TEST(RequestParser, RejectsBadFields) {
  for (std::string_view input : {
           "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\nName : x\r\n\r\n",     // space before colon
           "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n",          // empty name
           "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",  // obs-fold
           "GET / HTTP/1.1\r\n Host: a\r\n\r\n",                // whitespace before first field
           "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",      // bare CR in value
       }) {
    EXPECT_EQ(error_of(input), 400) << input;
  }
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"sv), 400);  // NUL in a value
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n"sv), 400);
}

TEST(RequestParser, HostRules) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n\r\n"), 400);                          // 1.1 needs Host
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);     // two Hosts
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").status, ParseStatus::complete);   // 1.0 may omit it
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n").status, ParseStatus::complete);  // empty allowed
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").status, ParseStatus::complete);
}

TEST(RequestParser, SmugglingShapes) {
  // Both framings at once (RFC 9112 §6.1): refused.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"),
            400);
  // Differing Content-Lengths, as two fields or as a list.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"), 400);
  // Not a number.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"), 400);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"), 400);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n"), 400);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"), 400);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"), 400);
  // chunked not last, twice, or on HTTP/1.0.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 400);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"),
            400);
  EXPECT_EQ(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  // Unknown codings: 501. A coding name with spaces inside is not chunked.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"), 501);
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked x\r\n\r\n"), 501);
  // Whitespace before the colon is the classic proxy-desync shape.
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"), 400);
}

// RFC 9110 §8.6 allows accepting identical repeats; strictness is chosen
// instead, since two readers that disagree on ",5" or "5,5" is a smuggle.
TEST(RequestParser, ContentLengthIsOneFieldOfDigits) {
  for (const char* value : {"5, 5", "5,5", ",5", "5,", "5 5", "", " "}) {
    EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::string(value) +
                       "\r\n\r\n"),
              400)
        << value;
  }
  EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
            400);
  Request request;
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", request).status,
            ParseStatus::complete);
  EXPECT_TRUE(request.has_transfer_encoding);
  EXPECT_TRUE(request.has_body());
}

// RFC 9110 §4.2.4: userinfo in the target is an error.
TEST(RequestParser, UserinfoInTheTargetIsRefused) {
  EXPECT_EQ(error_of("GET http://other.com:80@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET http://user@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"), 400);
  Request request;
  EXPECT_EQ(parse("GET /a@b HTTP/1.1\r\nHost: a\r\n\r\n", request).status, ParseStatus::complete);
  EXPECT_EQ(parse("GET http://a.com/x@y HTTP/1.1\r\nHost: a\r\n\r\n", request).status,
            ParseStatus::complete);  // '@' in the path is a plain byte
}

TEST(RequestParser, ContentLengthDigits) {
  Request request;
  std::string eighteen(18, '9');
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + eighteen + "\r\n\r\n", request).status,
            ParseStatus::complete);
  EXPECT_EQ(request.content_length, 999'999'999'999'999'999u);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", request).status,
            ParseStatus::complete);
  EXPECT_EQ(request.content_length, 7u);
  for (std::string bad : {"9" + eighteen, std::string("+5"), std::string("-5"), std::string("5a"),
                          std::string("0x5")}) {
    EXPECT_EQ(error_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + bad + "\r\n\r\n"), 400) << bad;
  }
}

// Parsed again only when the new bytes end a line or reach a limit.
TEST(RequestParser, HeadWorthParsingOnceALine) {
  ParseLimits limits;
  limits.max_request_line_bytes = 300;
  limits.max_header_bytes = 1000;
  EXPECT_TRUE(head_worth_parsing("G", 0, limits));  // a first look always
  EXPECT_FALSE(head_worth_parsing("GET / HT", 5, limits));
  EXPECT_TRUE(head_worth_parsing("GET / HTTP/1.1\r\n", 15, limits));  // the line ended
  EXPECT_FALSE(head_worth_parsing("GET / HTTP/1.1\r\nHost: t", 16, limits));
  EXPECT_TRUE(head_worth_parsing("GET / HTTP/1.1\r\nHost: t\r\n\r\n", 25, limits));
  std::string long_line = "GET /" + std::string(400, 'a');
  EXPECT_TRUE(head_worth_parsing(long_line, 400, limits));  // past the request-line limit
  std::string long_field = "GET / HTTP/1.1\r\nX: " + std::string(1000, 'b');
  EXPECT_TRUE(head_worth_parsing(long_field, 999, limits));  // past the head limit
  EXPECT_FALSE(head_worth_parsing(long_field.substr(0, 500), 499, limits));
}

TEST(RequestParser, Limits) {
  ParseLimits limits;
  limits.max_request_line_bytes = 64;
  limits.max_header_bytes = 256;
  limits.max_header_count = 3;
  std::string long_target = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(error_of(long_target, limits), 414);
  // Still arriving, already too long: refused before the line ends.
  EXPECT_EQ(error_of("GET /" + std::string(100, 'a'), limits), 414);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  EXPECT_EQ(error_of(many, limits), 431);
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'x') + "\r\n\r\n";
  EXPECT_EQ(error_of(big, limits), 431);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'x'), limits), 431);
  std::string fits = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
  EXPECT_EQ(parse(fits, *std::make_unique<Request>(), limits).status, ParseStatus::complete);
}

// The same bytes delivered in two pieces, split at every offset, must give
// the same answer as delivered whole: incomplete before, identical after.
TEST(RequestParser, PipelinedBytesSplitAtEveryOffset) {
  std::string first = "GET /a HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n";
  std::string second = "HEAD /b/c?q=1 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"e\"\r\n\r\n";
  std::string third = "GET /d HTTP/1.0\r\n\r\n";
  std::string stream = first + second + third;
  std::vector<std::string> expected_targets = {"/a", "/b/c?q=1", "/d"};
  for (size_t split = 0; split <= stream.size(); ++split) {
    std::string buffer = stream.substr(0, split);
    size_t fed = split;
    std::vector<std::string> targets;
    size_t consumed = 0;
    for (;;) {
      Request request;
      ParseResult result = parse(std::string_view(buffer).substr(consumed), request);
      ASSERT_NE(result.status, ParseStatus::error) << "split at " << split;
      if (result.status == ParseStatus::incomplete) {
        if (fed == stream.size()) {
          break;
        }
        buffer += stream.substr(fed);
        fed = stream.size();
        continue;
      }
      targets.emplace_back(request.target);
      consumed += result.head_bytes;
    }
    EXPECT_EQ(targets, expected_targets) << "split at " << split;
    EXPECT_EQ(consumed, stream.size());
  }
}

}  // namespace
}  // namespace ringhttpd
