#include "conf/header_rules.h"

#include <gtest/gtest.h>

#include "conf/command_line.h"

namespace ringhttpd {
namespace {

std::string error_of(std::string_view flag, std::string_view text) {
  try {
    if (flag == "--header") {
      parse_header_rule(text);
    } else {
      parse_expires_rule(text);
    }
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(HeaderRules, ParseAndMatch) {
  HeaderRules rules;
  rules.headers.push_back(parse_header_rule("/assets/: Cache-Control: public, max-age=31536000, immutable"));
  rules.headers.push_back(parse_header_rule("*.WOFF2: Access-Control-Allow-Origin: *"));
  rules.expires.push_back(parse_expires_rule("*.html=10m"));
  rules.expires.push_back(parse_expires_rule("/=1h"));
  std::string fields;
  int64_t max_age = 0;
  rules.fields_for("/assets/font.woff2", fields, max_age);
  EXPECT_EQ(fields,
            "Cache-Control: public, max-age=31536000, immutable\r\n"
            "Access-Control-Allow-Origin: *\r\n");
  EXPECT_EQ(max_age, 3600);  // Expires still applies; its Cache-Control does not double up
  rules.fields_for("/docs/index.HTML", fields, max_age);
  EXPECT_EQ(fields, "Cache-Control: max-age=600\r\n");
  EXPECT_EQ(max_age, 600);  // the first matching --expires wins
  HeaderRules none;
  none.fields_for("/x", fields, max_age);
  EXPECT_EQ(fields, "");
  EXPECT_EQ(max_age, -1);
}

TEST(HeaderRules, ExtensionMatchesTheLastSegmentOnly) {
  PathPattern pattern = parse_header_rule("*.js: X-A: 1").pattern;
  EXPECT_TRUE(pattern.matches("/a/b.js"));
  EXPECT_TRUE(pattern.matches("/a/b.JS"));
  EXPECT_FALSE(pattern.matches("/a.js/b"));
  EXPECT_FALSE(pattern.matches("/a/b.json"));
  EXPECT_FALSE(pattern.matches("/a/bjs"));
}

TEST(HeaderRules, BadRulesNameTheFlag) {
  EXPECT_EQ(error_of("--header", "no separator"), "--header: 'no separator' is not 'PATTERN: Name: value'");
  EXPECT_EQ(error_of("--header", "assets: X-A: 1"),
            "--header: 'assets: X-A: 1' needs a pattern: a path prefix such as /assets/ or an "
            "extension such as *.js");
  EXPECT_EQ(error_of("--header", "/: Bad Name: 1"), "--header: '/: Bad Name: 1' has an invalid field name");
  EXPECT_EQ(error_of("--header", "/: Content-Length: 5"),
            "--header: '/: Content-Length: 5' sets a field the server owns");
  EXPECT_EQ(error_of("--header", "/: X-A: a\nb"), "--header: '/: X-A: a\nb' has a control character in its value");
  EXPECT_EQ(error_of("--expires", "/assets/"), "--expires: '/assets/' is not 'PATTERN=DURATION'");
  EXPECT_EQ(error_of("--expires", "/=soon"),
            "--expires: 'soon' is not a duration (examples: 3600, 10m, 12h, 30d, 1y, max)");
  EXPECT_EQ(error_of("--expires", "/=11y"), "--expires: '11y' is longer than 10 years");
}

TEST(HeaderRules, MaxAgeUnits) {
  EXPECT_EQ(parse_max_age_seconds("--expires", "0"), 0u);
  EXPECT_EQ(parse_max_age_seconds("--expires", "90"), 90u);
  EXPECT_EQ(parse_max_age_seconds("--expires", "30d"), 30u * 86400);
  EXPECT_EQ(parse_max_age_seconds("--expires", "1y"), 365u * 86400);
  EXPECT_EQ(parse_max_age_seconds("--expires", "max"), 3650u * 86400);
  // The units every duration flag takes.
  EXPECT_EQ(parse_max_age_seconds("--expires", "2000ms"), 2u);
  EXPECT_EQ(error_of("--expires", "/=1500ms"), "--expires: '1500ms' is not a whole number of seconds");
  EXPECT_EQ(error_of("--expires", "/=99999999999999999999y"),
            "--expires: '99999999999999999999y' is longer than 10 years");
}

}  // namespace
}  // namespace ringhttpd
