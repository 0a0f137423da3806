#include "src/resolver.h"

#include <fcntl.h>
#include <linux/openat2.h>

#include <cstring>

#include "src/errno_status.h"
#include "src/http/accept_encoding.h"
#include "src/log.h"
#include "src/plan/representation.h"

namespace ringhttpd {
namespace {

constexpr unsigned statx_fields = STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME | STATX_INO;

constexpr ResolveStep pending() { return {}; }
constexpr ResolveStep answer(uint16_t status) { return {ResolveOutcome::answer, status}; }
constexpr ResolveStep file() { return {ResolveOutcome::file, 0}; }
constexpr ResolveStep redirect() { return {ResolveOutcome::redirect, 301}; }

}  // namespace

ResolveStep Resolver::start(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  exchange.resolve.root = &_docroot.current();
  Lookup found_entry = _cache.find(exchange.cache_key(), _loop.now_ms);
  switch (found_entry.freshness) {
    case Freshness::fresh:
      _cache.acquire(found_entry.entry);
      exchange.entry = found_entry.entry;
      return found(connection, found_entry.entry);
    case Freshness::stale:
      if (found_entry.entry->kind == EntryKind::file) {
        _cache.acquire(found_entry.entry);
        exchange.entry = found_entry.entry;
        return revalidate(connection, *found_entry.entry);
      }
      _cache.invalidate(found_entry.entry);  // a remembered answer: ask the disk again
      break;
    case Freshness::miss:
      break;
  }
  return from_disk(connection);
}

// Same file, same content? A STATX by path answers it without an open; a
// rename-replaced file shows a new inode. The entry is held by the exchange.
ResolveStep Resolver::revalidate(Connection& connection, const CacheEntry& entry) {
  Exchange& exchange = *connection.exchange;
  connection.enter(ConnectionState::resolving);
  io_uring_prep_statx(_ops.queue(connection, Op::revalidate), root_fd_for_op(exchange),
                      entry.resolved_path.c_str(), 0, statx_fields, &exchange.stat_buffer);
  return pending();
}

// The entry for the request path (held in exchange.entry): a file goes on
// to its siblings; a remembered redirect or status is the answer.
ResolveStep Resolver::found(Connection& connection, CacheEntry* entry) {
  switch (entry->kind) {
    case EntryKind::file:
      return next_sibling(connection);
    case EntryKind::redirect:
    case EntryKind::status: {
      ResolveStep step = entry->kind == EntryKind::redirect ? redirect() : answer(entry->status);
      _cache.release(entry);
      connection.exchange->entry = nullptr;
      return step;
    }
  }
  return answer(500);
}

// The cache takes the result whatever becomes of the connection: its
// revalidation is over either way.
ResolveStep Resolver::on_revalidate(Connection& connection, int result) {
  Exchange& exchange = *connection.exchange;
  WorkerDocroot::op_completed(*exchange.resolve.root);
  bool sibling = exchange.resolve.purpose == ResolvePurpose::sibling;
  CacheEntry* checked = sibling ? exchange.sibling : exchange.entry;
  FileInfo fresh;
  if (result == 0) {
    fresh = FileInfo::from_statx(exchange.stat_buffer);
  }
  bool same = _cache.revalidate(checked, result == 0 ? &fresh : nullptr, _loop.now_ms);
  if (connection.state == ConnectionState::aborting) {
    return pending();
  }
  if (sibling) {
    if (same) {
      return sibling_done(connection, checked);
    }
    _cache.release(checked);  // changed or gone: it closes when idle
    exchange.sibling = nullptr;
    return open(connection, exchange.scratch + 1);
  }
  if (same) {
    return found(connection, checked);
  }
  _cache.release(checked);
  exchange.entry = nullptr;
  return from_disk(connection);
}

ResolveStep Resolver::from_disk(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  if (exchange.resolve.purpose == ResolvePurpose::index) {
    return next_index(connection);
  }
  return open(connection, exchange.scratch + 1);
}

// A directory request tries each --index file in turn; when none exists, the
// directory itself is opened to tell 403 (exists, no index) from 404.
ResolveStep Resolver::next_index(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  ResolveProgress& resolve = exchange.resolve;
  char* directory_end = exchange.scratch + resolve.key_length;  // after its '/'
  if (resolve.index_tried < _config.index_files.size()) {
    const std::string& name = _config.index_files[resolve.index_tried++];
    std::memcpy(directory_end, name.c_str(), name.size() + 1);
  } else {
    resolve.purpose = ResolvePurpose::directory;
    *directory_end = '\0';
  }
  // "/" alone is the docroot itself: "." relative to the root fd.
  const char* relative = exchange.scratch + 1;
  return open(connection, *relative == '\0' ? "." : relative);
}

ResolveStep Resolver::open(Connection& connection, const char* relative_path) {
  Exchange& exchange = *connection.exchange;
  connection.enter(ConnectionState::resolving);
  exchange.how = {};
  // O_NONBLOCK: opening a FIFO someone left in the docroot must not park an
  // io-wq thread waiting for a writer. It has no effect on regular files.
  exchange.how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  // The kernel, not the normaliser, is the last word: nothing outside the
  // docroot is ever opened, whatever symlinks say.
  exchange.how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
                         (_config.no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  io_uring_prep_openat2(_ops.queue(connection, Op::open), root_fd_for_op(exchange), relative_path,
                        &exchange.how);
  return pending();
}

// The fd is known only once the open completed, so STATX cannot be linked to
// it. STATX runs on an io-wq thread (uring/KERNEL.md, "Always io-wq"): the
// cache keeps it off the warm path.
ResolveStep Resolver::on_open(Connection& connection, int result) {
  Exchange& exchange = *connection.exchange;
  WorkerDocroot::op_completed(*exchange.resolve.root);
  if (connection.state == ConnectionState::aborting) {
    if (result >= 0) {
      _closer.close_fd(result);
    }
    return pending();
  }
  ResolveProgress& resolve = exchange.resolve;
  if (result >= 0) {
    resolve.file_fd = result;
    io_uring_prep_statx(_ops.queue(connection, Op::statx), result, "", AT_EMPTY_PATH, statx_fields,
                        &exchange.stat_buffer);
    return pending();
  }
  uint16_t status = status_for_errno(-result);
  if (resolve.purpose == ResolvePurpose::sibling) {
    if (status == 404 || status == 403) {
      remember_answer(exchange, EntryKind::status, status);  // no sibling: remembered
    }
    return sibling_done(connection, nullptr);
  }
  if (resolve.purpose == ResolvePurpose::index && result == -ENOENT) {
    return next_index(connection);
  }
  if (status == 404 || status == 403) {
    remember_answer(exchange, EntryKind::status, status);  // a flood of misses stays here
  } else if (status == 500) {
    log_error("ringhttpd: worker %u: open %s: %s", _worker, exchange.scratch, strerror(-result));
  }
  return answer(status);
}

ResolveStep Resolver::on_statx(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    return pending();
  }
  Exchange& exchange = *connection.exchange;
  ResolveProgress& resolve = exchange.resolve;
  FileInfo info = FileInfo::from_statx(exchange.stat_buffer);
  if (resolve.purpose == ResolvePurpose::sibling) {
    if (result < 0 || !info.is_regular()) {
      // Not a sibling (a directory or FIFO named x.br, say): remembered as
      // what a request for it by name gets (the key is the same), or every
      // request would open it again.
      _closer.close_and_forget(resolve.file_fd);
      if (result == 0) {
        remember_answer(exchange, info.is_directory() ? EntryKind::redirect : EntryKind::status,
                        info.is_directory() ? 301 : 403);
      }
      return sibling_done(connection, nullptr);
    }
    CacheEntry* sibling = insert_opened(exchange, info);
    if (char* body = _cache.body_buffer(sibling)) {
      exchange.sibling = sibling;
      io_uring_prep_read(_ops.queue(connection, Op::read_body), sibling->fd, body,
                         static_cast<unsigned>(info.size), 0);
      return pending();
    }
    return sibling_done(connection, sibling);
  }
  if (result < 0) {
    log_error("ringhttpd: worker %u: statx %s: %s", _worker, exchange.scratch, strerror(-result));
    _closer.close_and_forget(resolve.file_fd);
    return answer(500);
  }
  if (info.is_regular() && resolve.purpose != ResolvePurpose::directory) {
    return remember_file(connection, info);
  }
  return not_a_file(connection, info);
}

// A directory named without its slash is a redirect; a directory without
// an index, a FIFO, a socket or a device node is 403. Both are remembered.
ResolveStep Resolver::not_a_file(Connection& connection, const FileInfo& info) {
  Exchange& exchange = *connection.exchange;
  _closer.close_and_forget(exchange.resolve.file_fd);
  if (info.is_directory() && exchange.resolve.purpose == ResolvePurpose::path) {
    remember_answer(exchange, EntryKind::redirect, 301);
    return redirect();
  }
  remember_answer(exchange, EntryKind::status, 403);
  return answer(403);
}

// The cache takes the opened fd, under the key of the path asked for, with
// its rule fields (a sibling too: it may be asked for by its own name
// later); the entry carries the caller's reference. scratch holds the
// opened path ("/docs/index.html"), NUL-terminated.
CacheEntry* Resolver::insert_opened(Exchange& exchange, const FileInfo& info) {
  std::string_view opened(exchange.scratch);
  CacheEntry* entry = _cache.insert_file(exchange.cache_key(), opened.substr(1),
                                         exchange.resolve.file_fd, info,
                                         _mime_types.lookup(opened), _loop.now_ms);
  exchange.resolve.file_fd = -1;
  if (!_config.header_rules.empty()) {
    // Rules match the site's own path, without the --vhosts host prefix.
    _config.header_rules.fields_for(opened.substr(exchange.resolve.host_prefix_length),
                                    entry->extra_fields, entry->max_age_seconds);
  }
  return entry;
}

// A regular file was opened and statted: remembered, with its rule fields,
// and a small file's bytes are read once so later responses are one SENDMSG.
ResolveStep Resolver::remember_file(Connection& connection, const FileInfo& info) {
  Exchange& exchange = *connection.exchange;
  CacheEntry* entry = insert_opened(exchange, info);
  exchange.entry = entry;
  if (char* body = _cache.body_buffer(entry)) {
    io_uring_prep_read(_ops.queue(connection, Op::read_body), entry->fd, body,
                       static_cast<unsigned>(entry->info.size), 0);
    return pending();
  }
  return found(connection, entry);
}

ResolveStep Resolver::on_read_body(Connection& connection, int result) {
  Exchange& exchange = *connection.exchange;
  bool sibling = exchange.resolve.purpose == ResolvePurpose::sibling;
  CacheEntry* read_into = sibling ? exchange.sibling : exchange.entry;
  if (result >= 0 && static_cast<uint64_t>(result) == read_into->info.size) {
    _cache.body_filled(read_into);
  } else {
    _cache.drop_body(read_into);  // changed under us: the splice path copes
  }
  if (connection.state == ConnectionState::aborting) {
    return pending();
  }
  return sibling ? sibling_done(connection, read_into) : found(connection, read_into);
}

// The representation: of the codings the client accepts, best weight first
// and the --precompressed order between equals, the first whose sibling
// exists and is current (src/plan/representation.h).
// Siblings are cache entries like any file (a missing one is a remembered
// 404), looked up by the path of the file served ("/docs/index.html.br").
ResolveStep Resolver::next_sibling(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  ResolveProgress& resolve = exchange.resolve;
  const std::vector<ContentCoding>& codings = _config.precompressed;
  if (codings.empty() || exchange.request.accept_encoding.empty()) {
    return file();
  }
  if (!resolve.codings_ranked) {
    resolve.codings_ranked = true;
    resolve.coding_count = static_cast<uint8_t>(
        rank_codings(codings, coding_weights(exchange.request.accept_encoding), resolve.coding_order));
  }
  const CacheEntry& original = *exchange.entry;
  const std::string& path = original.resolved_path;
  for (; resolve.next_coding < resolve.coding_count; ++resolve.next_coding) {
    ContentCoding coding = codings[resolve.coding_order[resolve.next_coding]];
    std::string_view suffix = coding_suffix(coding);
    size_t key_bytes = 1 + path.size() + suffix.size();
    if (key_bytes >= exchange.scratch_capacity) {
      continue;
    }
    exchange.scratch[0] = '/';
    std::memcpy(exchange.scratch + 1, path.data(), path.size());
    std::memcpy(exchange.scratch + 1 + path.size(), suffix.data(), suffix.size());
    exchange.scratch[key_bytes] = '\0';
    resolve.key_length = static_cast<uint32_t>(key_bytes);
    // Not counted: one request is one lookup in the metrics.
    Lookup found_entry = _cache.find(exchange.cache_key(), _loop.now_ms, false);
    if (found_entry.freshness == Freshness::fresh) {
      if (found_entry.entry->kind == EntryKind::file &&
          sibling_is_current(*found_entry.entry, original)) {
        _cache.acquire(found_entry.entry);
        exchange.sibling = found_entry.entry;
        exchange.sibling_coding = static_cast<uint8_t>(coding);
        return file();
      }
      continue;  // absent, or older than the file
    }
    resolve.purpose = ResolvePurpose::sibling;
    if (found_entry.freshness == Freshness::stale) {
      if (found_entry.entry->kind == EntryKind::file) {
        _cache.acquire(found_entry.entry);  // revalidated like any file
        exchange.sibling = found_entry.entry;
        return revalidate(connection, *found_entry.entry);
      }
      _cache.invalidate(found_entry.entry);  // a remembered 404: ask the disk again
    }
    return open(connection, exchange.scratch + 1);
  }
  return file();
}

// The sibling being opened is known: `sibling` (holding a reference) or
// null when there is none. It serves, or the choice goes on.
ResolveStep Resolver::sibling_done(Connection& connection, CacheEntry* sibling) {
  Exchange& exchange = *connection.exchange;
  exchange.sibling = nullptr;
  if (sibling != nullptr && sibling_is_current(*sibling, *exchange.entry)) {
    exchange.sibling = sibling;
    const ResolveProgress& resolve = exchange.resolve;
    exchange.sibling_coding =
        static_cast<uint8_t>(_config.precompressed[resolve.coding_order[resolve.next_coding]]);
    return file();
  }
  if (sibling != nullptr) {
    _cache.release(sibling);
  }
  ++exchange.resolve.next_coding;
  return next_sibling(connection);
}

int Resolver::root_fd_for_op(Exchange& exchange) {
  WorkerDocroot::op_queued(*exchange.resolve.root);
  return exchange.resolve.root->directory->fd;
}

void Resolver::remember_answer(const Exchange& exchange, EntryKind kind, uint16_t status) {
  _cache.release(_cache.insert_answer(exchange.cache_key(), kind, status, _loop.now_ms));
}

}  // namespace ringhttpd
