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
    : _limits(limits),
      _closer(closer),
      _answer_key_budget(limits.answer_key_bytes != 0
                             ? limits.answer_key_bytes
                             : uint64_t{limits.max_entries} * CacheLimits::answer_key_bytes_each) {
  _map.reserve(std::min<uint32_t>(limits.max_entries, 1u << 16));
}

FileCache::~FileCache() {
  // Responses are over by now: every entry left is only in the map.
  for (LruList* list : {&_files, &_answers}) {
    while (list->head != nullptr) {
      CacheEntry* entry = list->head;
      list->unlink(entry);
      entry->in_map = false;
      entry->references = 0;
      destroy(entry);
    }
  }
  _map.clear();
}

Lookup FileCache::find(std::string_view key, int64_t now_ms, bool count) {
  auto found = _map.find(key);
  if (found == _map.end()) {
    _counters.misses += count ? 1 : 0;
    return {};
  }
  CacheEntry* entry = found->second;
  LruList& list = list_of(entry);
  list.unlink(entry);
  list.push_front(entry);
  entry->last_used_ms = now_ms;
  if (now_ms >= entry->valid_until_ms && !entry->revalidating) {
    entry->revalidating = entry->kind == EntryKind::file;
    return {entry, Freshness::stale};
  }
  if (count) {
    ++_counters.hits;
    _counters.negative_hits += entry->kind == EntryKind::status ? 1 : 0;
  }
  return {entry, Freshness::fresh};
}

CacheEntry* FileCache::insert_file(std::string_view key, std::string_view resolved_path, int fd,
                                   const FileInfo& info, std::string_view content_type,
                                   int64_t now_ms) {
  CacheEntry* entry = take_entry(key, EntryKind::file, now_ms);
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
  CacheEntry* entry = take_entry(key, kind, now_ms);
  entry->status = status;
  return entry;
}

// A fresh or recycled entry for `key`, in the map (when the cache keeps
// anything) with one reference for the caller.
CacheEntry* FileCache::take_entry(std::string_view key, EntryKind kind, int64_t now_ms) {
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
  entry->kind = kind;
  entry->status = 0;
  entry->fd = -1;
  entry->info = {};
  entry->content_type = {};
  entry->etag_bytes = 0;
  entry->extra_fields.clear();
  entry->max_age_seconds = -1;
  entry->body_ready = false;
  entry->revalidating = false;
  entry->valid_until_ms = now_ms + _limits.valid_ms;
  entry->last_used_ms = now_ms;
  entry->references = 1;
  if (_limits.max_entries > 0) {
    LruList& list = list_of(entry);
    make_room(list, entry->key.size());
    _map.emplace(std::string_view(entry->key), entry);
    entry->in_map = true;
    list.push_front(entry);
    ++_counters.entries;
    if (kind != EntryKind::file) {
      _counters.answer_key_bytes += entry->key.size();
    }
  }
  return entry;
}

void FileCache::make_room(LruList& list, size_t key_bytes) {
  auto over_bytes = [&] {
    return &list == &_answers && _counters.answer_key_bytes + key_bytes > _answer_key_budget;
  };
  while ((list.size >= _limits.max_entries || over_bytes()) && list.tail != nullptr) {
    ++_counters.evictions;
    invalidate(list.tail);
  }
}

bool FileCache::revalidate(CacheEntry* entry, const FileInfo* fresh, int64_t now_ms) {
  ++_counters.revalidations;
  entry->revalidating = false;
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
  CacheEntry* candidate = _files.tail;
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
  list_of(entry).unlink(entry);
  entry->in_map = false;
  assert(_counters.entries > 0);
  --_counters.entries;
  if (entry->kind != EntryKind::file) {
    assert(_counters.answer_key_bytes >= entry->key.size());
    _counters.answer_key_bytes -= entry->key.size();
  }
  if (entry->references == 0) {
    destroy(entry);
  }
}

void FileCache::clear() {
  for (LruList* list : {&_files, &_answers}) {
    while (list->head != nullptr) {
      invalidate(list->head);
    }
  }
}

// The least recently used entries are at the tails: the first one used
// since the cut-off ends the walk.
size_t FileCache::expire_idle(int64_t now_ms, size_t most) {
  if (_limits.idle_ms <= 0) {
    return 0;
  }
  size_t dropped = 0;
  for (LruList* list : {&_files, &_answers}) {
    while (dropped < most && list->tail != nullptr &&
           now_ms - list->tail->last_used_ms >= _limits.idle_ms) {
      invalidate(list->tail);
      ++dropped;
    }
  }
  _counters.expired += dropped;
  return dropped;
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

void FileCache::LruList::push_front(CacheEntry* entry) {
  entry->lru_prev = nullptr;
  entry->lru_next = head;
  if (head != nullptr) {
    head->lru_prev = entry;
  } else {
    tail = entry;
  }
  head = entry;
  ++size;
}

void FileCache::LruList::unlink(CacheEntry* entry) {
  bool linked = entry->lru_prev != nullptr || entry->lru_next != nullptr || head == entry;
  if (!linked) {
    return;
  }
  if (entry->lru_prev != nullptr) {
    entry->lru_prev->lru_next = entry->lru_next;
  } else {
    head = entry->lru_next;
  }
  if (entry->lru_next != nullptr) {
    entry->lru_next->lru_prev = entry->lru_prev;
  } else {
    tail = entry->lru_prev;
  }
  entry->lru_prev = entry->lru_next = nullptr;
  assert(size > 0);
  --size;
}

}  // namespace ringhttpd
