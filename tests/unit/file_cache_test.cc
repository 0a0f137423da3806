#include "cache/file_cache.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ringhttpd {
namespace {

// Records closes instead of closing: the fds here are made-up numbers.
struct RecordingCloser : FdCloser {
  void close_fd(int fd) override { closed.push_back(fd); }
  std::vector<int> closed;
};

FileInfo file_info(uint64_t size, uint64_t inode = 1, int64_t mtime = 1000) {
  FileInfo info;
  info.size = size;
  info.inode = inode;
  info.mtime_sec = mtime;
  info.mode = S_IFREG | 0644;
  return info;
}

struct CacheFixture : ::testing::Test {
  CacheLimits limits() {
    CacheLimits l;
    l.max_entries = 3;
    l.valid_ms = 100;
    l.body_max_bytes = 1000;
    l.body_total_bytes = 2500;
    return l;
  }
  RecordingCloser closer;
  // Inserts a file entry and drops the caller's reference at once.
  void put(FileCache& cache, const std::string& key, int fd, uint64_t size = 10, int64_t now = 0) {
    cache.release(cache.insert_file(key, key.substr(1), fd, file_info(size, fd), "text/plain", now));
  }
};

TEST_F(CacheFixture, HitMissAndLruEviction) {
  FileCache cache(limits(), closer);
  put(cache, "/a", 10);
  put(cache, "/b", 11);
  put(cache, "/c", 12);
  EXPECT_EQ(cache.find("/a", 0).freshness, Freshness::fresh);  // /a is now most recent
  put(cache, "/d", 13);                                        // evicts /b, the LRU
  EXPECT_EQ(cache.find("/b", 0).freshness, Freshness::miss);
  EXPECT_EQ(closer.closed, (std::vector<int>{11}));
  put(cache, "/e", 14);  // evicts /c
  EXPECT_EQ(closer.closed, (std::vector<int>{11, 12}));
  EXPECT_EQ(cache.find("/a", 0).entry->fd, 10);
  EXPECT_EQ(cache.counters().evictions, 2u);
  EXPECT_EQ(cache.counters().entries, 3u);
  EXPECT_EQ(cache.counters().open_fds, 3u);
  EXPECT_EQ(cache.counters().hits, 2u);
  EXPECT_EQ(cache.counters().misses, 1u);
}

TEST_F(CacheFixture, EntryFormatsItsHeadersOnce) {
  FileCache cache(limits(), closer);
  FileInfo info = file_info(1234, 7, 784111777);
  info.mtime_nsec = 5;
  CacheEntry* entry = cache.insert_file("/x.html", "x.html", 5, info, "text/html", 0);
  EXPECT_EQ(entry->etag_text(), "\"2ebc98a1.5-4d2\"");
  EXPECT_EQ(entry->last_modified_text(), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(entry->content_type, "text/html");
  EXPECT_EQ(entry->resolved_path, "x.html");
  cache.release(entry);
}

TEST_F(CacheFixture, NegativeEntriesExpire) {
  FileCache cache(limits(), closer);
  cache.release(cache.insert_answer("/missing", EntryKind::status, 404, 0));
  Lookup hit = cache.find("/missing", 50);
  ASSERT_EQ(hit.freshness, Freshness::fresh);
  EXPECT_EQ(hit.entry->status, 404);
  EXPECT_EQ(cache.counters().negative_hits, 1u);
  EXPECT_EQ(cache.find("/missing", 100).freshness, Freshness::stale);
}

TEST_F(CacheFixture, RevalidationKeepsTheSameFileAndDropsAReplacedOne) {
  FileCache cache(limits(), closer);
  put(cache, "/same", 20, 10, 0);
  Lookup stale = cache.find("/same", 150);
  ASSERT_EQ(stale.freshness, Freshness::stale);
  FileInfo unchanged = file_info(10, 20);
  EXPECT_TRUE(cache.revalidate(stale.entry, &unchanged, 150));
  EXPECT_EQ(cache.find("/same", 200).freshness, Freshness::fresh);  // valid until 250

  Lookup again = cache.find("/same", 300);
  FileInfo renamed_over = file_info(10, 99);  // rsync/deploy: new inode, same size
  EXPECT_FALSE(cache.revalidate(again.entry, &renamed_over, 300));
  EXPECT_EQ(cache.find("/same", 300).freshness, Freshness::miss);
  EXPECT_EQ(closer.closed, (std::vector<int>{20}));

  put(cache, "/gone", 21);
  EXPECT_FALSE(cache.revalidate(cache.find("/gone", 500).entry, nullptr, 500));
  EXPECT_EQ(cache.counters().revalidations, 3u);
  EXPECT_EQ(cache.counters().invalidations, 2u);
}

TEST_F(CacheFixture, ModifiedInPlaceIsSeenByMtimeNanoseconds) {
  FileCache cache(limits(), closer);
  put(cache, "/f", 30);
  FileInfo touched = file_info(10, 30);
  touched.mtime_nsec = 1;
  EXPECT_FALSE(cache.revalidate(cache.find("/f", 500).entry, &touched, 500));
}

// The property the worker's splices depend on: an entry evicted or
// invalidated while a response holds it keeps its fd until released.
TEST_F(CacheFixture, ReferencedEntryOutlivesEvictionAndInvalidation) {
  FileCache cache(limits(), closer);
  CacheEntry* streaming = cache.insert_file("/big", "big", 40, file_info(1 << 20, 40), "x", 0);
  put(cache, "/a", 41);
  put(cache, "/b", 42);
  put(cache, "/c", 43);  // evicts /big from the map...
  EXPECT_EQ(cache.find("/big", 0).freshness, Freshness::miss);
  EXPECT_TRUE(closer.closed.empty());  // ...but its fd stays open
  EXPECT_EQ(streaming->fd, 40);
  EXPECT_EQ(cache.counters().open_fds, 4u);
  cache.release(streaming);
  EXPECT_EQ(closer.closed, (std::vector<int>{40}));
  EXPECT_EQ(cache.counters().open_fds, 3u);

  CacheEntry* held = cache.insert_file("/a", "a", 44, file_info(5, 44), "x", 0);  // replaces /a
  EXPECT_EQ(closer.closed, (std::vector<int>{40, 41}));
  cache.invalidate(held);
  cache.invalidate(held);  // twice is harmless
  EXPECT_EQ(closer.closed.size(), 2u);
  cache.release(held);
  EXPECT_EQ(closer.closed, (std::vector<int>{40, 41, 44}));
}

TEST_F(CacheFixture, BodiesInFlightAreNeverDroppedForRoom) {
  FileCache cache(limits(), closer);  // bodies up to 1000 bytes, 2500 in all
  std::vector<CacheEntry*> held;
  for (int i = 0; i < 2; ++i) {
    CacheEntry* entry =
        cache.insert_file("/" + std::to_string(i), "x", 50 + i, file_info(900, 50 + i), "x", 0);
    ASSERT_NE(cache.body_buffer(entry), nullptr) << i;
    cache.body_filled(entry);
    held.push_back(entry);
  }
  // Both bodies are being sent: a third would pass the cap, and neither may
  // be dropped for it, so it gets none and is served by splice instead.
  CacheEntry* third = cache.insert_file("/2", "x", 52, file_info(900, 52), "x", 0);
  EXPECT_EQ(cache.body_buffer(third), nullptr);
  EXPECT_EQ(cache.counters().body_bytes, 1800u);
  EXPECT_TRUE(held[0]->body_ready);
  // Once the least recent one is done, its body makes room.
  cache.release(held[0]);
  EXPECT_NE(cache.body_buffer(third), nullptr);
  EXPECT_FALSE(held[0]->body_ready);
  EXPECT_EQ(cache.counters().body_bytes, 1800u);
  cache.release(held[1]);
  cache.release(third);
}

TEST_F(CacheFixture, BodyEvictionDropsOnlyIdleBodiesAndNeverExceedsTheCap) {
  CacheLimits l = limits();
  l.max_entries = 100;
  FileCache cache(l, closer);
  for (int i = 0; i < 10; ++i) {
    CacheEntry* entry =
        cache.insert_file("/" + std::to_string(i), "x", 60 + i, file_info(900, 60 + i), "x", 0);
    if (char* body = cache.body_buffer(entry)) {
      body[0] = static_cast<char>(i);
      cache.body_filled(entry);
    }
    cache.release(entry);
    EXPECT_LE(cache.counters().body_bytes, 2500u) << i;
  }
  EXPECT_EQ(cache.counters().body_bytes, 1800u);  // the two most recent bodies
  EXPECT_TRUE(cache.find("/9", 0).entry->body_ready);
  EXPECT_FALSE(cache.find("/0", 0).entry->body_ready);
  // A file above --cache-body-max never gets a body buffer.
  CacheEntry* big = cache.insert_file("/big", "big", 90, file_info(1001, 90), "x", 0);
  EXPECT_EQ(cache.body_buffer(big), nullptr);
  cache.release(big);
}

TEST_F(CacheFixture, ZeroEntriesKeepsNothingPastTheResponse) {
  CacheLimits l = limits();
  l.max_entries = 0;
  FileCache cache(l, closer);
  CacheEntry* entry = cache.insert_file("/a", "a", 70, file_info(10, 70), "x", 0);
  EXPECT_EQ(cache.find("/a", 0).freshness, Freshness::miss);
  EXPECT_EQ(entry->fd, 70);
  cache.release(entry);
  EXPECT_EQ(closer.closed, (std::vector<int>{70}));
}

TEST_F(CacheFixture, ClearDropsEverythingAndDestructorClosesAll) {
  {
    FileCache cache(limits(), closer);
    put(cache, "/a", 80);
    put(cache, "/b", 81);
    cache.clear();
    EXPECT_EQ(cache.counters().entries, 0u);
    EXPECT_EQ(closer.closed.size(), 2u);
    put(cache, "/c", 82);
  }
  EXPECT_EQ(std::set<int>(closer.closed.begin(), closer.closed.end()), (std::set<int>{80, 81, 82}));
}

TEST_F(CacheFixture, EntriesUnusedForIdleMsAreDroppedAFewAtATime) {
  CacheLimits l = limits();
  l.max_entries = 10;
  l.valid_ms = 100'000;
  l.idle_ms = 1000;
  FileCache cache(l, closer);
  for (int fd = 1; fd <= 5; ++fd) {
    put(cache, "/" + std::to_string(fd), fd, 10, 0);
  }
  cache.release(cache.insert_answer("/missing", EntryKind::status, 404, 0));
  EXPECT_EQ(cache.find("/5", 900).freshness, Freshness::fresh);  // used late
  EXPECT_EQ(cache.expire_idle(999, 100), 0u);
  EXPECT_EQ(cache.expire_idle(1000, 2), 2u);  // bounded work per call
  EXPECT_EQ(closer.closed, (std::vector<int>{1, 2}));
  EXPECT_EQ(cache.expire_idle(1000, 100), 3u);  // /3, /4, and the answer
  EXPECT_EQ(closer.closed, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(cache.find("/missing", 1000).freshness, Freshness::miss);
  EXPECT_EQ(cache.find("/5", 1000).freshness, Freshness::fresh);
  EXPECT_EQ(cache.counters().expired, 5u);
  l.idle_ms = 0;  // never
  FileCache forever(l, closer);
  put(forever, "/x", 9, 10, 0);
  EXPECT_EQ(forever.expire_idle(INT64_MAX / 2, 100), 0u);
}

TEST_F(CacheFixture, AnswersNeverEvictFiles) {
  FileCache cache(limits(), closer);  // three of each
  put(cache, "/a", 1);
  put(cache, "/b", 2);
  put(cache, "/c", 3);
  for (int i = 0; i < 100'000; ++i) {
    cache.release(cache.insert_answer("/missing-" + std::to_string(i), EntryKind::status, 404, 0));
  }
  EXPECT_TRUE(closer.closed.empty());
  for (const char* hot : {"/a", "/b", "/c"}) {
    EXPECT_EQ(cache.find(hot, 0).freshness, Freshness::fresh) << hot;
  }
  EXPECT_EQ(cache.counters().entries, 6u);  // the files and the three newest answers
  EXPECT_EQ(cache.find("/missing-99999", 0).entry->status, 404);
  EXPECT_EQ(cache.find("/missing-0", 0).freshness, Freshness::miss);
}

TEST_F(CacheFixture, AnswersAreBoundedInKeyBytesToo) {
  CacheLimits l = limits();
  l.max_entries = 1000;
  l.answer_key_bytes = 2000;
  FileCache cache(l, closer);
  put(cache, "/hot", 1);
  for (int i = 0; i < 100; ++i) {
    std::string key = "/" + std::string(500, 'x') + std::to_string(i);  // a long probe each
    cache.release(cache.insert_answer(key, EntryKind::status, 404, 0));
    EXPECT_LE(cache.counters().answer_key_bytes, 2000u) << i;
  }
  EXPECT_EQ(cache.counters().entries, 1u + 3u);  // three long answers fit, and the file
  EXPECT_EQ(cache.find("/hot", 0).freshness, Freshness::fresh);
  cache.clear();
  EXPECT_EQ(cache.counters().answer_key_bytes, 0u);
}

TEST_F(CacheFixture, OneRevalidationAtATime) {
  FileCache cache(limits(), closer);  // valid for 100 ms
  put(cache, "/f", 20, 10, 0);
  EXPECT_EQ(cache.find("/f", 150).freshness, Freshness::stale);  // this caller revalidates
  Lookup meanwhile = cache.find("/f", 160);
  EXPECT_EQ(meanwhile.freshness, Freshness::fresh);  // the others use it as it is
  FileInfo same = file_info(10, 20);
  EXPECT_TRUE(cache.revalidate(meanwhile.entry, &same, 170));
  EXPECT_EQ(cache.find("/f", 260).freshness, Freshness::fresh);  // valid until 270
  EXPECT_EQ(cache.find("/f", 270).freshness, Freshness::stale);  // and checked again then
  EXPECT_EQ(cache.counters().revalidations, 1u);
}

TEST_F(CacheFixture, UncountedLookupsLeaveTheCountersAlone) {
  FileCache cache(limits(), closer);
  put(cache, "/a", 1);
  cache.find("/a", 0, false);
  cache.find("/none", 0, false);
  EXPECT_EQ(cache.counters().hits, 0u);
  EXPECT_EQ(cache.counters().misses, 0u);
}

TEST(FileInfoTest, EtagChangesWithSizeAndNanoseconds) {
  FileInfo file = file_info(1234, 1, 784111777);
  char a[etag_max_bytes];
  char b[etag_max_bytes];
  std::string first(a, format_etag(file, a));
  file.mtime_nsec = 6;
  std::string second(b, format_etag(file, b));
  EXPECT_NE(first, second);
  file.size = UINT64_MAX;
  file.mtime_sec = INT64_MAX;
  file.mtime_nsec = 999999999;
  EXPECT_LE(format_etag(file, a), etag_max_bytes);
}

#ifndef NDEBUG
// A reference released twice fails here instead of wrapping the count and
// closing a file a queued splice still names.
TEST_F(CacheFixture, ReleasingAnUnheldEntryIsAsserted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        FileCache cache(limits(), closer);
        CacheEntry* entry = cache.insert_file("/a", "a", 3, file_info(10), "text/plain", 0);
        cache.release(entry);
        cache.release(entry);
      },
      "references > 0");
}
#endif

}  // namespace
}  // namespace ringhttpd
