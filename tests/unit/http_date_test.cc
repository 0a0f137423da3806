#include "cache/http_date.h"

#include <gtest/gtest.h>

#include <ctime>
#include <random>
#include <string>

namespace ringhttpd {
namespace {

std::string reference(time_t seconds) {
  tm broken{};
  gmtime_r(&seconds, &broken);
  char text[64];
  // The C locale's %a/%b are the English names RFC 9110 needs.
  strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &broken);
  return text;
}

std::string ours(time_t seconds) {
  char text[http_date_bytes];
  format_http_date(seconds, text);
  return std::string(text, http_date_bytes);
}

TEST(HttpDate, KnownValues) {
  EXPECT_EQ(ours(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  EXPECT_EQ(ours(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(ours(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");   // leap day of a /400 year
  EXPECT_EQ(ours(4102444799), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HttpDate, MatchesStrftimeAcrossCenturies) {
  std::mt19937_64 random(42);
  std::uniform_int_distribution<int64_t> any_time(0, 253402300799);  // up to year 9999
  for (int i = 0; i < 100000; ++i) {
    time_t seconds = static_cast<time_t>(any_time(random));
    ASSERT_EQ(ours(seconds), reference(seconds)) << seconds;
  }
}

TEST(HttpDate, ClfTimeMatchesStrftime) {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> any_time(0, 253402300799);
  for (int i = 0; i < 100000; ++i) {
    time_t seconds = static_cast<time_t>(any_time(random));
    tm broken{};
    gmtime_r(&seconds, &broken);
    char expected[64];
    strftime(expected, sizeof expected, "[%d/%b/%Y:%H:%M:%S +0000]", &broken);
    char text[clf_time_bytes];
    format_clf_time(seconds, text);
    ASSERT_EQ(std::string(text, clf_time_bytes), expected) << seconds;
  }
}

TEST(HttpDate, CacheReformatsOnlyOnANewSecond) {
  DateCache cache;
  std::string_view first = cache.get(784111777);
  EXPECT_EQ(first, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(cache.get(784111777).data(), first.data());
  EXPECT_EQ(cache.get(784111778), "Sun, 06 Nov 1994 08:49:38 GMT");
}

}  // namespace
}  // namespace ringhttpd
