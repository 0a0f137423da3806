#include <gtest/gtest.h>

#include "src/http/conditional.h"
#include "src/http/range.h"

namespace ringhttpd {
namespace {

constexpr time_t nov_1994 = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(HttpDateParse, AllThreeForms) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), nov_1994);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), nov_1994);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), nov_1994);
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
}

TEST(HttpDateParse, RejectsMalformed) {
  for (std::string_view bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
                               "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                               "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
                               "1994-11-06T08:49:37Z", "abc,", "Sun,", "\xf0\x9d\x86\x65,",
                               "Sunday,", "x, 1"}) {
    EXPECT_FALSE(parse_http_date(bad).has_value()) << bad;
  }
}

TEST(EtagLists, StrongAndWeakComparison) {
  std::string_view ours = "\"abc\"";
  EXPECT_TRUE(etag_list_matches("\"abc\"", ours, EtagComparison::strong));
  EXPECT_TRUE(etag_list_matches("*", ours, EtagComparison::strong));
  EXPECT_TRUE(etag_list_matches("\"x\", \"abc\"", ours, EtagComparison::strong));
  EXPECT_TRUE(etag_list_matches("\"x\",\"abc\" ", ours, EtagComparison::weak));
  EXPECT_FALSE(etag_list_matches("W/\"abc\"", ours, EtagComparison::strong));
  EXPECT_TRUE(etag_list_matches("W/\"abc\"", ours, EtagComparison::weak));
  EXPECT_FALSE(etag_list_matches("\"abcd\"", ours, EtagComparison::weak));
  EXPECT_FALSE(etag_list_matches("abc", ours, EtagComparison::weak));         // unquoted
  EXPECT_FALSE(etag_list_matches("\"x\" \"abc\"", ours, EtagComparison::weak)); // no comma
}

Request conditional(std::string_view if_match, std::string_view if_unmodified_since,
                    std::string_view if_none_match, std::string_view if_modified_since) {
  Request request;
  request.method = Method::get;
  request.if_match = if_match;
  request.if_unmodified_since = if_unmodified_since;
  request.if_none_match = if_none_match;
  request.if_modified_since = if_modified_since;
  return request;
}

TEST(Preconditions, EvaluatedInRfc9110Order) {
  Validators v{"\"abc\"", nov_1994};
  constexpr const char* earlier = "Sat, 05 Nov 1994 08:49:37 GMT";
  constexpr const char* same = "Sun, 06 Nov 1994 08:49:37 GMT";
  struct Case {
    Request request;
    Precondition expected;
  };
  for (const Case& c : {
           Case{conditional("", "", "", ""), Precondition::proceed},
           Case{conditional("\"abc\"", "", "", ""), Precondition::proceed},
           Case{conditional("\"nope\"", "", "", ""), Precondition::failed},
           Case{conditional("W/\"abc\"", "", "", ""), Precondition::failed},  // strong comparison
           Case{conditional("", earlier, "", ""), Precondition::failed},
           Case{conditional("", same, "", ""), Precondition::proceed},
           Case{conditional("", "not a date", "", ""), Precondition::proceed},  // ignored
           // If-Match wins over If-Unmodified-Since.
           Case{conditional("\"abc\"", earlier, "", ""), Precondition::proceed},
           Case{conditional("", "", "\"abc\"", ""), Precondition::not_modified},
           Case{conditional("", "", "W/\"abc\"", ""), Precondition::not_modified},  // weak
           Case{conditional("", "", "*", ""), Precondition::not_modified},
           Case{conditional("", "", "\"other\"", ""), Precondition::proceed},
           Case{conditional("", "", "", same), Precondition::not_modified},
           Case{conditional("", "", "", earlier), Precondition::proceed},
           // If-None-Match wins over If-Modified-Since, even when the date says 304.
           Case{conditional("", "", "\"other\"", same), Precondition::proceed},
           // A failed If-Match beats a matching If-None-Match: 412, not 304.
           Case{conditional("\"nope\"", "", "\"abc\"", ""), Precondition::failed},
       }) {
    EXPECT_EQ(evaluate_preconditions(c.request, v), c.expected)
        << "IM=" << c.request.if_match << " IUS=" << c.request.if_unmodified_since
        << " INM=" << c.request.if_none_match << " IMS=" << c.request.if_modified_since;
  }
}

TEST(IfRange, StrongEtagOrExactDate) {
  Validators v{"\"abc\"", nov_1994};
  EXPECT_TRUE(if_range_allows("", v));
  EXPECT_TRUE(if_range_allows("\"abc\"", v));
  EXPECT_FALSE(if_range_allows("\"old\"", v));
  EXPECT_FALSE(if_range_allows("W/\"abc\"", v));
  EXPECT_TRUE(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", v));
  EXPECT_FALSE(if_range_allows("Sun, 06 Nov 1994 08:49:38 GMT", v));
  EXPECT_FALSE(if_range_allows("garbage", v));
}

std::vector<std::pair<uint64_t, uint64_t>> spans(const RangeSet& set) {
  std::vector<std::pair<uint64_t, uint64_t>> result;
  for (size_t i = 0; i < set.count; ++i) {
    result.emplace_back(set.ranges[i].first, set.ranges[i].first + set.ranges[i].length - 1);
  }
  return result;
}

using Spans = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(Ranges, SingleForms) {
  RangeSet set = parse_range("bytes=0-499", 10000, 16);
  ASSERT_EQ(set.outcome, RangeOutcome::partial);
  EXPECT_EQ(spans(set), (Spans{{0, 499}}));
  EXPECT_EQ(spans(parse_range("bytes=9500-", 10000, 16)), (Spans{{9500, 9999}}));
  EXPECT_EQ(spans(parse_range("bytes=-500", 10000, 16)), (Spans{{9500, 9999}}));
  EXPECT_EQ(spans(parse_range("bytes=-20000", 10000, 16)), (Spans{{0, 9999}}));
  EXPECT_EQ(spans(parse_range("bytes=9000-20000", 10000, 16)), (Spans{{9000, 9999}}));
  EXPECT_EQ(spans(parse_range("BYTES = 1-1", 10, 16)).size(), 0u);  // no space allowed before '='
  EXPECT_EQ(spans(parse_range("Bytes=1-1", 10, 16)), (Spans{{1, 1}}));
}

TEST(Ranges, MultipleAreSortedAndMerged) {
  EXPECT_EQ(spans(parse_range("bytes=0-9, 20-29", 100, 16)), (Spans{{0, 9}, {20, 29}}));
  EXPECT_EQ(spans(parse_range("bytes=20-29,0-9", 100, 16)), (Spans{{0, 9}, {20, 29}}));
  EXPECT_EQ(spans(parse_range("bytes=0-9,5-14", 100, 16)), (Spans{{0, 14}}));   // overlap
  EXPECT_EQ(spans(parse_range("bytes=0-9,10-19", 100, 16)), (Spans{{0, 19}}));  // adjacent
  EXPECT_EQ(spans(parse_range("bytes=0-1,200-300", 100, 16)), (Spans{{0, 1}}));  // one satisfiable
}

TEST(Ranges, IgnoredOrRefused) {
  EXPECT_EQ(parse_range("", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("items=0-1", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("bytes=", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("bytes=5-1", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("bytes=a-b", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("bytes=1", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("bytes=-", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("bytes=200-300", 100, 16).outcome, RangeOutcome::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100, 16).outcome, RangeOutcome::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-0", 0, 16).outcome, RangeOutcome::unsatisfiable);
}

// CVE-2011-3192: many overlapping ranges asking for far more than the file.
TEST(Ranges, RangeKillerShapesAreDefused) {
  std::string killer = "bytes=0-";
  for (int i = 1; i < 1300; ++i) {
    killer += ",5-" + std::to_string(i);
  }
  EXPECT_EQ(parse_range(killer, 100000, 16).outcome, RangeOutcome::full);  // too many
  std::string seventeen = "bytes=0-0";
  for (int i = 1; i < 17; ++i) {
    seventeen += "," + std::to_string(i * 10) + "-" + std::to_string(i * 10);
  }
  EXPECT_EQ(parse_range(seventeen, 1000, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range(seventeen, 1000, 17).outcome, RangeOutcome::partial);
  // Fewer ranges, but more bytes than the file holds: served whole.
  EXPECT_EQ(parse_range("bytes=0-99,0-99", 100, 16).outcome, RangeOutcome::full);
  EXPECT_EQ(parse_range("bytes=0-,0-", 100, 16).outcome, RangeOutcome::full);
}

}  // namespace
}  // namespace ringhttpd
