#pragma once
// Per-worker LRU cache of what a request path resolved to, in the manner of
// h2o's lib/common/filecache.c with nginx's open_file_cache recheck:
//
// - a hash map from the normalised request path to an entry, plus two
//   intrusive LRU lists, each with its own bound: open files, and
//   remembered answers, so a flood of distinct missing paths (what the
//   internet sends an origin) evicts other answers, never a hot file;
//   a hit moves the entry to the front of its list;
// - an entry is an open file (fd, statx fields, ETag and Last-Modified
//   formatted once, Content-Type, and for small files the body bytes), or a
//   remembered answer: a redirect to the directory, or a negative status
//   (404/403) so a flood of misses for one path does not reach the filesystem;
// - after `valid_ms` an entry is stale: the caller revalidates a file entry
//   (statx by path, same inode/device/size/mtime?) and other entries expire.
//   One revalidation at a time: while it is under way the entry is served
//   as it is;
// - an entry unused for `idle_ms` is dropped (expire_idle(), on the tick),
//   so a file a deploy deleted does not keep its blocks allocated;
// - responses in flight hold a reference. An entry evicted or invalidated
//   while referenced leaves the map at once but keeps its fd and body until
//   the last reference is released: a queued splice resolves its fd only
//   when it runs, so closing early would send another file's bytes.
//
// No io_uring in here: the worker does the I/O and reports results, so this
// is tested alone. Closing an fd goes through the FdCloser it is given.

#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/file_info.h"

namespace ringhttpd {

enum class EntryKind : uint8_t {
  file,      // an open regular file
  redirect,  // a directory named without its slash: 301 to "name/"
  status,    // a remembered error: 403 or 404
};

struct CacheEntry {
  CacheEntry() = default;
  CacheEntry(const CacheEntry&) = delete;
  CacheEntry& operator=(const CacheEntry&) = delete;

  std::string key;             // normalised request path (map key points here)
  std::string resolved_path;   // what was opened, relative to the root ("docs/index.html")
  EntryKind kind = EntryKind::status;
  uint16_t status = 0;         // kind == status
  int fd = -1;                 // kind == file; owned by the cache
  FileInfo info;
  std::string_view content_type;
  char etag[etag_max_bytes] = {};
  uint8_t etag_bytes = 0;
  char last_modified[29] = {};
  std::string extra_fields;      // --header/--expires lines for this file
  int64_t max_age_seconds = -1;  // --expires: Expires is now + this; -1 none
  std::unique_ptr<char[]> body;  // small files: the whole content
  uint32_t body_capacity = 0;
  uint32_t body_charged_bytes = 0;  // what this body counts against body_total_bytes
  bool body_ready = false;          // body holds info.size valid bytes
  bool revalidating = false;        // its STATX is under way: others use it as it is
  int64_t valid_until_ms = 0;
  int64_t last_used_ms = 0;

  // Internal bookkeeping.
  uint32_t references = 0;
  bool in_map = false;
  CacheEntry* lru_prev = nullptr;
  CacheEntry* lru_next = nullptr;

  std::string_view etag_text() const { return {etag, etag_bytes}; }
  std::string_view last_modified_text() const { return {last_modified, sizeof last_modified}; }
};

struct CacheCounters {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t negative_hits = 0;
  uint64_t evictions = 0;
  uint64_t revalidations = 0;   // stale file entries checked
  uint64_t invalidations = 0;   // entries found changed or gone
  uint64_t expired = 0;         // entries dropped unused after idle_ms
  uint64_t body_bytes = 0;      // bytes of bodies held now
  uint64_t open_fds = 0;        // descriptors held now (entries in the map or in flight)
  uint64_t entries = 0;         // entries in the map now
  uint64_t answer_key_bytes = 0;  // key bytes the remembered answers hold now
};

struct CacheLimits {
  uint32_t max_entries = 16384;          // files, and answers apart; 0: nothing is kept past its response
  int64_t valid_ms = 2000;               // fresh for this long after a check
  int64_t idle_ms = 60'000;              // dropped when unused this long; 0: never
  // The key bytes all remembered answers may hold together: a flood of
  // long distinct misses (--max-uri each) is bounded in bytes, not only in
  // count. 0: max_entries times answer_key_bytes_each.
  uint64_t answer_key_bytes = 0;
  static constexpr uint64_t answer_key_bytes_each = 256;
  uint32_t body_max_bytes = 64 * 1024;   // files up to this size keep their bytes
  uint64_t body_total_bytes = 256ull << 20;  // all bodies of this cache together
};

class FdCloser {
 public:
  virtual ~FdCloser() = default;
  virtual void close_fd(int fd) = 0;
};

enum class Freshness : uint8_t { miss, fresh, stale };

struct Lookup {
  CacheEntry* entry = nullptr;  // null on a miss
  Freshness freshness = Freshness::miss;
};

class FileCache {
 public:
  FileCache(const CacheLimits& limits, FdCloser& closer);
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // Finds `key`; a hit moves to the LRU front and, with `count`, is
  // counted. A stale entry is returned as such: revalidate a file (it is
  // then marked as being revalidated, and found fresh until revalidate()
  // says), replace anything else.
  Lookup find(std::string_view key, int64_t now_ms, bool count = true);

  // Inserts (or replaces) the entry for `key`, evicting the least recently
  // used entry when full. The returned entry carries one reference for the
  // caller. insert_file takes ownership of fd.
  CacheEntry* insert_file(std::string_view key, std::string_view resolved_path, int fd,
                          const FileInfo& info, std::string_view content_type, int64_t now_ms);
  CacheEntry* insert_answer(std::string_view key, EntryKind kind, uint16_t status, int64_t now_ms);

  // Result of a revalidation STATX of a stale file entry (`fresh` is null
  // when the path is gone). Returns true when the entry is still the same
  // file and content (it is fresh again); false when it was invalidated.
  // Either way the revalidation is over.
  bool revalidate(CacheEntry* entry, const FileInfo* fresh, int64_t now_ms);

  // A buffer for a small file's body, or null when the file is too big or
  // the byte budget is spent even after evicting a few LRU bodies. Mark it
  // ready with body_filled() once the bytes are read.
  char* body_buffer(CacheEntry* entry);
  void body_filled(CacheEntry* entry);
  void drop_body(CacheEntry* entry);

  // Removes the entry from the map now; it lives on while referenced.
  void invalidate(CacheEntry* entry);
  // Drops every entry (SIGHUP).
  void clear();
  // Drops entries unused for idle_ms, at most `most` of them: the tick's
  // bounded share of the work. Returns how many went.
  size_t expire_idle(int64_t now_ms, size_t most);

  void acquire(CacheEntry* entry) {
    assert(entry->references < UINT32_MAX);
    ++entry->references;
  }
  void release(CacheEntry* entry);

  const CacheCounters& counters() const { return _counters; }
  const CacheLimits& limits() const { return _limits; }

 private:
  // An intrusive list, most recently used first.
  struct LruList {
    CacheEntry* head = nullptr;
    CacheEntry* tail = nullptr;
    uint32_t size = 0;
    void push_front(CacheEntry* entry);
    void unlink(CacheEntry* entry);
  };
  LruList& list_of(const CacheEntry* entry) {
    return entry->kind == EntryKind::file ? _files : _answers;
  }

  CacheEntry* take_entry(std::string_view key, EntryKind kind, int64_t now_ms);
  void make_room(LruList& list, size_t key_bytes);
  void drop_charge(CacheEntry* entry);
  void destroy(CacheEntry* entry);

  CacheLimits _limits;
  FdCloser& _closer;
  // Keyed by views of each entry's own key string.
  std::unordered_map<std::string_view, CacheEntry*> _map;
  LruList _files;
  LruList _answers;
  uint64_t _answer_key_budget = 0;
  std::vector<std::unique_ptr<CacheEntry>> _spare;  // recycled entries: churn does not allocate
  CacheCounters _counters;
};

}  // namespace ringhttpd
