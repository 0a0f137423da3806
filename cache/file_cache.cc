#include "cache/file_cache.h"

#include <cassert>
#include <cstring>

#include "cache/http_date.h"

namespace ringhttpd {
namespace {

// Body-budget eviction looks at this many LRU entries at most per request:
// the cost of one insert stays bounded whatever the cache holds.
constexpr int max_body_evictions = 8;

}  // namespace

FileCache::FileCache(const CacheLimits& limits, FdCloser& closer)
    : _limits(limits), _closer(closer) {
  _map.reserve(std::min<uint32_t>(limits.max_entries, 1u << 16));
}

FileCache::~FileCache() {
  // Responses are over by now: every entry left is only in the map.
  while (_lru_head != nullptr) {
    CacheEntry* entry = _lru_head;
    lru_unlink(entry);
    entry->in_map = false;
    entry->references = 0;
    destroy(entry);
  }
  _map.clear();
}

Lookup FileCache::find(std::string_view key, int64_t now_ms) {
  auto found = _map.find(key);
  if (found == _map.end()) {
    ++_counters.misses;
    return {};
  }
  CacheEntry* entry = found->second;
  lru_unlink(entry);
  lru_push_front(entry);
  if (now_ms >= entry->valid_until_ms) {
    return {entry, Freshness::stale};
  }
  ++_counters.hits;
  if (entry->kind == EntryKind::status) {
    ++_counters.negative_hits;
  }
  return {entry, Freshness::fresh};
}

CacheEntry* FileCache::insert_file(std::string_view key, std::string_view resolved_path, int fd,
                                   const FileInfo& info, std::string_view content_type,
                                   int64_t now_ms) {
  CacheEntry* entry = take_entry(key, now_ms);
  entry->kind = EntryKind::file;
  entry->resolved_path.assign(resolved_path);
  entry->fd = fd;
  ++_counters.open_fds;
  entry->info = info;
  entry->content_type = content_type;
  entry->etag_bytes = static_cast<uint8_t>(format_etag(info, entry->etag));
  format_http_date(info.mtime_sec, entry->last_modified);
  return entry;
}

CacheEntry* FileCache::insert_answer(std::string_view key, EntryKind kind, uint16_t status,
                                     int64_t now_ms) {
  CacheEntry* entry = take_entry(key, now_ms);
  entry->kind = kind;
  entry->status = status;
  return entry;
}

// A fresh or recycled entry for `key`, in the map (when the cache keeps
// anything) with one reference for the caller.
CacheEntry* FileCache::take_entry(std::string_view key, int64_t now_ms) {
  if (auto found = _map.find(key); found != _map.end()) {
    invalidate(found->second);
  }
  std::unique_ptr<CacheEntry> owned;
  if (!_spare.empty()) {
    owned = std::move(_spare.back());
    _spare.pop_back();
  } else {
    owned = std::make_unique<CacheEntry>();
  }
  CacheEntry* entry = owned.release();
  entry->key.assign(key);
  entry->status = 0;
  entry->fd = -1;
  entry->info = {};
  entry->content_type = {};
  entry->etag_bytes = 0;
  entry->extra_fields.clear();
  entry->max_age_seconds = -1;
  entry->body_ready = false;
  entry->valid_until_ms = now_ms + _limits.valid_ms;
  entry->references = 1;
  if (_limits.max_entries > 0) {
    make_room();
    _map.emplace(std::string_view(entry->key), entry);
    entry->in_map = true;
    lru_push_front(entry);
    ++_counters.entries;
  }
  return entry;
}

void FileCache::make_room() {
  while (_map.size() >= _limits.max_entries && _lru_tail != nullptr) {
    ++_counters.evictions;
    invalidate(_lru_tail);
  }
}

bool FileCache::revalidate(CacheEntry* entry, const FileInfo* fresh, int64_t now_ms) {
  ++_counters.revalidations;
  if (fresh != nullptr && fresh->same_version(entry->info)) {
    entry->valid_until_ms = now_ms + _limits.valid_ms;
    return true;
  }
  ++_counters.invalidations;
  invalidate(entry);
  return false;
}

char* FileCache::body_buffer(CacheEntry* entry) {
  uint64_t size = entry->info.size;
  if (entry->kind != EntryKind::file || size == 0 || size > _limits.body_max_bytes ||
      !entry->in_map) {
    return nullptr;
  }
  // Make room in the byte budget from the LRU end, a few entries at most.
  CacheEntry* candidate = _lru_tail;
  for (int step = 0; step < max_body_evictions &&
                     _counters.body_bytes + size > _limits.body_total_bytes && candidate != nullptr;
       ++step) {
    CacheEntry* previous = candidate->lru_prev;
    if (candidate != entry && candidate->body_ready && candidate->references == 0) {
      drop_body(candidate);
    }
    candidate = previous;
  }
  if (_counters.body_bytes + size > _limits.body_total_bytes) {
    return nullptr;
  }
  if (entry->body_capacity < size) {
    entry->body = std::make_unique<char[]>(size);
    entry->body_capacity = static_cast<uint32_t>(size);
  }
  drop_charge(entry);
  _counters.body_bytes += size;
  entry->body_charged_bytes = static_cast<uint32_t>(size);
  entry->body_ready = false;
  return entry->body.get();
}

void FileCache::body_filled(CacheEntry* entry) { entry->body_ready = true; }

void FileCache::drop_charge(CacheEntry* entry) {
  assert(_counters.body_bytes >= entry->body_charged_bytes);
  _counters.body_bytes -= entry->body_charged_bytes;
  entry->body_charged_bytes = 0;
}

void FileCache::drop_body(CacheEntry* entry) {
  drop_charge(entry);
  entry->body.reset();
  entry->body_capacity = 0;
  entry->body_ready = false;
}

void FileCache::invalidate(CacheEntry* entry) {
  if (!entry->in_map) {
    return;
  }
  _map.erase(std::string_view(entry->key));
  lru_unlink(entry);
  entry->in_map = false;
  assert(_counters.entries > 0);
  --_counters.entries;
  if (entry->references == 0) {
    destroy(entry);
  }
}

void FileCache::clear() {
  while (_lru_head != nullptr) {
    invalidate(_lru_head);
  }
}

void FileCache::release(CacheEntry* entry) {
  assert(entry->references > 0);
  if (--entry->references == 0 && !entry->in_map) {
    destroy(entry);
  }
}

void FileCache::destroy(CacheEntry* entry) {
  assert(entry->references == 0 && !entry->in_map);
  if (entry->fd >= 0) {
    _closer.close_fd(entry->fd);
    entry->fd = -1;
    assert(_counters.open_fds > 0);
    --_counters.open_fds;
  }
  drop_body(entry);
  _spare.emplace_back(entry);
}

void FileCache::lru_push_front(CacheEntry* entry) {
  entry->lru_prev = nullptr;
  entry->lru_next = _lru_head;
  if (_lru_head != nullptr) {
    _lru_head->lru_prev = entry;
  } else {
    _lru_tail = entry;
  }
  _lru_head = entry;
}

void FileCache::lru_unlink(CacheEntry* entry) {
  if (entry->lru_prev != nullptr) {
    entry->lru_prev->lru_next = entry->lru_next;
  } else if (_lru_head == entry) {
    _lru_head = entry->lru_next;
  }
  if (entry->lru_next != nullptr) {
    entry->lru_next->lru_prev = entry->lru_prev;
  } else if (_lru_tail == entry) {
    _lru_tail = entry->lru_prev;
  }
  entry->lru_prev = entry->lru_next = nullptr;
}

}  // namespace ringhttpd
