#include "src/access_log.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace ringhttpd {
namespace {

PeerAddress peer_v4(const char* text) {
  sockaddr_storage address{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(address);
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, text, &v4.sin_addr);
  PeerAddress peer;
  peer.set(address);
  return peer;
}

PeerAddress peer_v6(const char* text) {
  sockaddr_storage address{};
  auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &v6.sin6_addr);
  PeerAddress peer;
  peer.set(address);
  return peer;
}

LogEntry sample() {
  LogEntry entry;
  entry.peer = peer_v4("203.0.113.7");
  entry.clf_time = "[10/Oct/2000:13:55:36 +0000]";
  entry.method = "GET";
  entry.target = "/apache_pb.gif";
  entry.version_minor = 0;
  entry.status = 200;
  entry.body_bytes = 2326;
  entry.referer = "http://www.example.com/start.html";
  entry.user_agent = "Mozilla/4.08 [en] (Win98; I ;Nav)";
  return entry;
}

std::string format(const LogEntry& entry, LogFormat format_kind, size_t capacity = 4096) {
  std::string out(capacity, '\0');
  out.resize(format_log_entry(entry, format_kind, out.data(), capacity));
  return out;
}

TEST(AccessLog, CommonAndCombinedFormats) {
  // Apache's documentation examples, byte for byte.
  EXPECT_EQ(format(sample(), LogFormat::common),
            "203.0.113.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /apache_pb.gif HTTP/1.0\" 200 2326\n");
  EXPECT_EQ(format(sample(), LogFormat::combined),
            "203.0.113.7 - - [10/Oct/2000:13:55:36 +0000] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 "
            "\"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"\n");
}

TEST(AccessLog, Ipv4PeersAreWrittenAsInetNtopWould) {
  for (const char* text : {"0.0.0.0", "127.0.0.1", "10.20.30.40", "255.255.255.255", "1.0.99.100"}) {
    LogEntry entry = sample();
    entry.peer = peer_v4(text);
    std::string line = format(entry, LogFormat::common);
    EXPECT_EQ(line.substr(0, line.find(' ')), text);
  }
}

TEST(AccessLog, MissingPartsAreDashes) {
  LogEntry entry = sample();
  entry.method = {};
  entry.body_bytes = 0;
  entry.referer = {};
  entry.user_agent = {};
  entry.status = 400;
  EXPECT_EQ(format(entry, LogFormat::combined),
            "203.0.113.7 - - [10/Oct/2000:13:55:36 +0000] \"-\" 400 - \"-\" \"-\"\n");
  entry.peer = {};
  EXPECT_EQ(format(entry, LogFormat::common).substr(0, 2), "- ");
}

TEST(AccessLog, Ipv6AndMappedAddresses) {
  LogEntry entry = sample();
  entry.peer = peer_v6("2001:db8::1");
  EXPECT_EQ(format(entry, LogFormat::common).substr(0, 12), "2001:db8::1 ");
  entry.peer = peer_v6("::ffff:192.0.2.9");
  EXPECT_EQ(format(entry, LogFormat::common).substr(0, 10), "192.0.2.9 ");
}

TEST(AccessLog, ClientBytesCannotForgeLines) {
  LogEntry entry = sample();
  entry.target = "/a\"b\\c";
  entry.user_agent = "evil\n127.0.0.1 - - [x] \"GET / HTTP/1.1\" 200 1\xff";
  std::string line = format(entry, LogFormat::combined);
  EXPECT_NE(line.find("\"GET /a\\\"b\\\\c HTTP/1.0\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"evil\\x0A127.0.0.1 - - [x] \\\"GET / HTTP/1.1\\\" 200 1\\xFF\""),
            std::string::npos)
      << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_EQ(line.back(), '\n');
}

TEST(AccessLog, LongEntriesAreCutWithAMarker) {
  LogEntry entry = sample();
  std::string agent(10000, 'a');
  entry.user_agent = agent;
  std::string line = format(entry, LogFormat::combined, log_buffer_bytes);
  EXPECT_EQ(line.size(), log_buffer_bytes);
  EXPECT_TRUE(line.ends_with(truncated_marker));
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(AccessLog, ClfTime) {
  char text[clf_time_bytes];
  format_clf_time(971186136, text);
  EXPECT_EQ(std::string(text, clf_time_bytes), "[10/Oct/2000:13:55:36 +0000]");
  ClfTimeCache cache;
  EXPECT_EQ(cache.get(0), "[01/Jan/1970:00:00:00 +0000]");
}

// Every write is at most PIPE_BUF, ends on a newline, and holds whole entries.
TEST(LogBuffers, WritesAreWholeEntriesWithinPipeBuf) {
  LogBuffers buffers;
  LogEntry entry = sample();
  size_t appended = 0;
  std::string written;
  for (int i = 0; i < 500; ++i) {
    std::string target = "/file/" + std::string(static_cast<size_t>(i % 300), 'x');
    entry.target = target;
    ASSERT_TRUE(buffers.append(entry, LogFormat::combined, i));
    ++appended;
    std::string_view next = buffers.write_next();
    if (!next.empty()) {
      ASSERT_LE(next.size(), log_buffer_bytes);
      ASSERT_EQ(next.back(), '\n');
      written.append(next);
      buffers.write_done(static_cast<int>(next.size()));
    }
  }
  buffers.seal_if_due(1000, 0, true);
  std::string_view last = buffers.write_next();
  written.append(last);
  buffers.write_done(static_cast<int>(last.size()));
  EXPECT_TRUE(buffers.idle());
  EXPECT_EQ(static_cast<size_t>(std::count(written.begin(), written.end(), '\n')), appended);
  EXPECT_EQ(buffers.written_entries(), appended);
  EXPECT_EQ(buffers.dropped_entries(), 0u);
}

TEST(LogBuffers, FlushAfterTheIntervalFromTheFirstByte) {
  LogBuffers buffers;
  buffers.append(sample(), LogFormat::common, 1000);
  buffers.seal_if_due(1500, 1000, false);
  EXPECT_TRUE(buffers.write_next().empty());  // not due yet
  buffers.seal_if_due(2000, 1000, false);
  EXPECT_FALSE(buffers.write_next().empty());
}

// A short write (a full disk, RLIMIT_FSIZE) cut a line: what is left of
// its buffer goes first in every later chain, failures included, until
// the disk takes it; nothing of it is dropped.
TEST(LogBuffers, AShortWriteIsFinishedNeverLeftHalfALine) {
  LogBuffers buffers;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(buffers.append(sample(), LogFormat::common, 0));
  }
  buffers.seal_if_due(0, 0, true);
  std::string whole(buffers.write_next());
  ASSERT_GT(whole.size(), 20u);
  EXPECT_TRUE(buffers.write_next().empty());  // one buffer
  buffers.write_done(10);                      // ten bytes went, mid-line
  EXPECT_FALSE(buffers.writing());
  EXPECT_EQ(buffers.sealed_buffers(), 1u);
  std::string_view rest = buffers.write_next();
  EXPECT_EQ(rest, std::string_view(whole).substr(10));
  buffers.write_done(-EFBIG);  // still refused: kept, not dropped
  EXPECT_EQ(buffers.write_next(), std::string_view(whole).substr(10));
  buffers.write_done(static_cast<int>(whole.size() - 10));
  EXPECT_EQ(buffers.written_entries(), 3u);
  EXPECT_EQ(buffers.dropped_entries(), 0u);
  EXPECT_EQ(buffers.sealed_buffers(), 0u);
}

TEST(LogBuffers, DropsAndCountsWhenTheWriterCannotKeepUp) {
  LogBuffers buffers;
  LogEntry entry = sample();
  std::string agent(1000, 'a');
  entry.user_agent = agent;  // about 1.1 KB an entry, 3 a buffer
  ASSERT_TRUE(buffers.append(entry, LogFormat::combined, 0));
  std::string_view in_flight = buffers.write_next();  // nothing sealed yet
  EXPECT_TRUE(in_flight.empty());
  size_t accepted = 1;
  while (buffers.append(entry, LogFormat::combined, 0)) {
    ++accepted;
  }
  EXPECT_GE(accepted, 3 * (log_buffer_count - 1));
  EXPECT_EQ(buffers.sealed_buffers(), log_buffer_count - 1);
  EXPECT_EQ(buffers.dropped_entries(), 1u);
  // A chain of all sealed buffers; the first write fails (a full disk): its
  // entries are dropped and counted, the cancelled rest are written next time.
  size_t chained = 0;
  while (!buffers.write_next().empty()) {
    ++chained;
  }
  EXPECT_EQ(chained, log_buffer_count - 1);
  buffers.write_done(-ENOSPC);
  for (size_t i = 1; i < chained; ++i) {
    buffers.write_done(-ECANCELED);
  }
  EXPECT_EQ(buffers.last_error(), ENOSPC);
  EXPECT_EQ(buffers.dropped_entries(), 1u + 3u);
  EXPECT_FALSE(buffers.writing());
  size_t rewritten = 0;
  for (std::string_view next = buffers.write_next(); !next.empty(); next = buffers.write_next()) {
    ++rewritten;
  }
  EXPECT_EQ(rewritten, chained - 1);
  EXPECT_TRUE(buffers.append(entry, LogFormat::combined, 0));  // room again
}

#ifndef NDEBUG
TEST(LogBuffersDeathTest, AWriteDoneWithoutAWriteIsAsserted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        LogBuffers buffers;
        buffers.write_done(100);
      },
      "_in_flight > 0");
}
#endif

}  // namespace
}  // namespace ringhttpd
