// Request handling: read bytes, parse a head, resolve the file under the
// docroot, and pick the response. Sending is in worker_send.cc.

#include <fcntl.h>
#include <linux/openat2.h>

#include <cstring>

#include "src/errno_status.h"
#include "src/http/path.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/worker.h"

namespace ringhttpd {
namespace {

// A request body on a method that takes none is skipped up to this size, so
// the connection stays in step; a larger one is refused (413) and closes.
constexpr uint64_t max_discarded_body_bytes = 64 * 1024;
constexpr size_t max_index_name_bytes = 256;
constexpr std::string_view allowed_methods = "GET, HEAD, OPTIONS";

}  // namespace

// ---- input ------------------------------------------------------------------

// Idle connections receive into a provided buffer (the kernel picks one only
// when bytes arrive, so waiting costs no memory). A connection holding a
// partial request receives straight into its exchange, after the bytes it has.
//
// Single-shot RECV, armed only while the connection wants input, rather than
// multishot: a multishot RECV keeps delivering while a response is being
// sent, and a client pipelining faster than we answer would then need
// unbounded buffering or a cancel race. Armed on demand, unread requests stay
// in the socket and TCP pushes back. (On 6.18 a RECV on an empty
// non-blocking socket is poll-armed, not failed with -EAGAIN.) Whether
// multishot is worth its complexity is a load-benchmark question.
void Worker::arm_recv(Connection& connection) {
  io_uring_sqe* sqe = queue(connection, Op::recv);
  Exchange* exchange = connection.exchange;
  if (exchange == nullptr) {
    io_uring_prep_recv(sqe, connection.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = _recv_buffers.group_id();
    connection.recv_uses_pool = true;
    return;
  }
  if (exchange->in_start > 0) {
    uint32_t pending = exchange->in_end - exchange->in_start;
    std::memmove(exchange->in, exchange->in + exchange->in_start, pending);
    exchange->in_start = 0;
    exchange->in_end = pending;
  }
  io_uring_prep_recv(sqe, connection.fd, exchange->in + exchange->in_end,
                     exchange->in_capacity - exchange->in_end, 0);
  connection.recv_uses_pool = false;
}

void Worker::on_recv(Connection& connection, int result, const char* pool_bytes) {
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  if (result == -ENOBUFS) {
    // Every provided buffer was in use; they are recycled within this batch,
    // before the re-armed RECV is submitted.
    arm_recv(connection);
    return;
  }
  if (connection.state == ConnectionState::lingering) {
    // Draining after SHUT_WR: bytes are dropped; EOF, an error or the linger
    // deadline ends it.
    if (result > 0 && _now_ms < connection.linger_until_ms) {
      timer_set(connection, TimerKind::linger,
                std::min<int64_t>(_now_ms + _config.linger_timeout_ms, connection.linger_until_ms));
      arm_recv(connection);
    } else {
      abort(connection);
    }
    return;
  }
  if (result <= 0) {
    abort(connection);  // peer closed, reset, or the RECV was cancelled
    return;
  }
  if (pool_bytes != nullptr) {
    connection.exchange = _exchanges.acquire();
    std::memcpy(connection.exchange->in, pool_bytes, static_cast<size_t>(result));
    connection.exchange->in_end = static_cast<uint32_t>(result);
  } else {
    connection.exchange->in_end += static_cast<uint32_t>(result);
  }
  process_input(connection, false);
}

void Worker::process_input(Connection& connection, bool after_response) {
  connection.state = ConnectionState::reading;
  Exchange* exchange = connection.exchange;
  if (exchange != nullptr && connection.discard_body_bytes > 0) {
    uint64_t skip = std::min<uint64_t>(connection.discard_body_bytes,
                                       exchange->in_end - exchange->in_start);
    exchange->in_start += static_cast<uint32_t>(skip);
    connection.discard_body_bytes -= skip;
  }
  if (exchange == nullptr || exchange->in_start == exchange->in_end) {
    if (exchange != nullptr) {
      release_exchange(connection);
    }
    if (_stopping && connection.discard_body_bytes == 0) {
      abort(connection);  // idle at stop: nothing owed to this client
      return;
    }
    if (after_response) {
      timer_set(connection, connection.discard_body_bytes > 0 ? TimerKind::header : TimerKind::idle,
                _now_ms + (connection.discard_body_bytes > 0 ? _config.header_timeout_ms
                                                             : _config.keepalive_timeout_ms));
    }
    arm_recv(connection);
    return;
  }
  std::string_view input(exchange->in + exchange->in_start, exchange->in_end - exchange->in_start);
  ParseResult parsed = parse_request(input, _limits, exchange->request);
  switch (parsed.status) {
    case ParseStatus::incomplete:
      // The header deadline runs from the first byte of a request and is
      // not extended by more bytes: a slow drip cannot hold the slot.
      if (connection.timer.kind != TimerKind::header) {
        timer_set(connection, TimerKind::header, _now_ms + _config.header_timeout_ms);
      }
      arm_recv(connection);
      return;
    case ParseStatus::error:
      exchange->keep_alive = false;
      exchange->head_only = false;
      exchange->request_parsed = false;
      respond_status(connection, parsed.error_status);
      return;
    case ParseStatus::complete:
      timer_clear(connection);
      exchange->request_parsed = true;
      exchange->head_bytes = parsed.head_bytes;
      exchange->in_start += parsed.head_bytes;  // the views stay valid: no compaction until idle
      start_request(connection);
      return;
  }
}

// ---- choosing the response ----------------------------------------------------

void Worker::start_request(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  const Request& request = exchange.request;
  // --keepalive-requests: the last one says "Connection: close"; a request
  // already pipelined behind it stays unanswered, as RFC 9112 9.6 allows
  // (the client sees the close and retries it on a new connection).
  ++connection.requests_started;
  bool last_allowed = _config.keepalive_requests != 0 &&
                      connection.requests_started >= _config.keepalive_requests;
  exchange.keep_alive = request.keep_alive() && !_stopping && !last_allowed;
  exchange.head_only = request.method == Method::head;
  bool serves_files = request.method == Method::get || request.method == Method::head;

  // Framing first: whatever the answer, the connection must stay in step.
  if (request.has_transfer_encoding || request.content_length > max_discarded_body_bytes) {
    exchange.keep_alive = false;
    if (serves_files) {
      respond_status(connection, 413);
      return;
    }
  } else {
    connection.discard_body_bytes = request.content_length;
  }
  if (request.method == Method::unknown) {
    respond_status(connection, 501);
    return;
  }
  if (request.method == Method::options) {
    // "OPTIONS *" asks about the server, "OPTIONS /path" about a resource:
    // every resource here allows the same methods.
    exchange.status = 204;
    HeaderWriter head(exchange.scratch, exchange.scratch_capacity);
    render_options(head, common_fields(exchange), allowed_methods);
    send_head_only(connection, head);
    return;
  }
  if (!serves_files) {
    respond_status(connection, 405);
    return;
  }
  if (serve_endpoint(connection)) {
    return;
  }
  // --vhosts: the path becomes "/host/path", so keys, opens and siblings
  // work exactly as without.
  char host_buffer[254];
  std::string_view host;
  if (_context.vhosts != nullptr) {
    host = host_directory_for(request, host_buffer);
    if (host.empty()) {
      respond_status(connection, 404);  // unknown host and no _default
      return;
    }
    exchange.host_prefix_length = static_cast<uint32_t>(1 + host.size());
  }
  char* request_path = exchange.scratch + exchange.host_prefix_length;
  NormalizedPath path =
      normalize_target(request.target, request_path,
                       exchange.scratch_capacity - exchange.host_prefix_length - max_index_name_bytes);
  if (path.error_status != 0) {
    respond_status(connection, path.error_status);
    return;
  }
  if (!_config.allow_dotfiles && has_hidden_segment({request_path, path.length})) {
    respond_status(connection, 404);  // .git, .env, .htpasswd: as if absent
    return;
  }
  if (!host.empty()) {
    exchange.scratch[0] = '/';
    std::memcpy(exchange.scratch + 1, host.data(), host.size());
  }
  exchange.path_length = static_cast<uint32_t>(exchange.host_prefix_length + path.length);
  exchange.trailing_slash = path.trailing_slash;
  lookup_cache(connection);
}

// ---- virtual hosts ------------------------------------------------------------

// The directory for the request's host: its Host (or the authority of an
// absolute-form target), if the root has that directory; else "_default"
// if it has that; else empty.
std::string_view Worker::host_directory_for(const Request& request, char* buffer) {
  // An absolute-form target names the host itself (RFC 9112 §3.2.2).
  std::string_view host = target_authority(request.target).value_or(request.host);
  std::string_view directory = host_directory(host, buffer);
  if (!directory.empty() && _hosts.find(directory) != _hosts.end()) {
    return directory;
  }
  return _hosts.find(std::string_view("_default")) != _hosts.end() ? "_default" : std::string_view();
}

void Worker::refresh_hosts() {
  if (_context.vhosts != nullptr && _context.vhosts->version() != _hosts_version) {
    _hosts_version = _context.vhosts->version();
    _hosts = _context.vhosts->snapshot();
  }
}

// ---- the open-file cache ------------------------------------------------------

// The normalised path, trailing slash included: "/docs" (a redirect) and
// "/docs/" (its index) are different answers.
std::string_view Worker::cache_key(const Exchange& exchange) const {
  return {exchange.scratch, exchange.path_length};
}

void Worker::lookup_cache(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  Lookup found = _cache.find(cache_key(exchange), _now_ms);
  switch (found.freshness) {
    case Freshness::fresh:
      _cache.acquire(found.entry);
      exchange.entry = found.entry;
      serve_entry(connection);
      return;
    case Freshness::stale:
      if (found.entry->kind == EntryKind::file) {
        // Same file, same content? A STATX by path answers it without an
        // open; a rename-replaced file shows a new inode.
        _cache.acquire(found.entry);
        exchange.entry = found.entry;
        connection.state = ConnectionState::resolving;
        io_uring_prep_statx(queue(connection, Op::revalidate), _context.root_fd,
                            found.entry->resolved_path.c_str(), 0,
                            STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME | STATX_INO,
                            &exchange.stat_buffer);
        return;
      }
      _cache.invalidate(found.entry);  // a remembered answer: ask the disk again
      break;
    case Freshness::miss:
      break;
  }
  resolve_from_disk(connection);
}

void Worker::on_revalidate(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  Exchange& exchange = *connection.exchange;
  FileInfo fresh;
  if (result == 0) {
    fresh = FileInfo::from_statx(exchange.stat_buffer);
  }
  if (_cache.revalidate(exchange.entry, result == 0 ? &fresh : nullptr, _now_ms)) {
    serve_entry(connection);
    return;
  }
  _cache.release(exchange.entry);  // changed or gone: it closes when idle
  exchange.entry = nullptr;
  resolve_from_disk(connection);
}

void Worker::resolve_from_disk(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  if (exchange.trailing_slash) {
    try_next_index(connection);
  } else {
    queue_open(connection, exchange.scratch + 1);
  }
}

void Worker::remember_answer(Connection& connection, EntryKind kind, uint16_t status) {
  _cache.release(_cache.insert_answer(cache_key(*connection.exchange), kind, status, _now_ms));
}

// A regular file was opened and statted: the cache takes its fd, and a small
// file's bytes are read once so later responses are one SENDMSG.
void Worker::remember_file(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  // scratch holds the opened path ("/docs/index.html"), NUL-terminated.
  std::string_view opened(exchange.scratch);
  CacheEntry* entry =
      _cache.insert_file(cache_key(exchange), opened.substr(1), exchange.file_fd, exchange.file,
                         _context.mime_types->lookup(opened), _now_ms);
  exchange.file_fd = -1;
  exchange.entry = entry;
  if (!_config.header_rules.empty()) {
    // Rules match the site's own path, without the --vhosts host prefix.
    _config.header_rules.fields_for(opened.substr(exchange.host_prefix_length),
                                    entry->extra_fields, entry->max_age_seconds);
  }
  if (char* body = _cache.body_buffer(entry)) {
    io_uring_prep_read(queue(connection, Op::read_body), entry->fd, body,
                       static_cast<unsigned>(entry->info.size), 0);
    return;
  }
  serve_entry(connection);
}

void Worker::on_read_body(Connection& connection, int result) {
  Exchange& exchange = *connection.exchange;
  CacheEntry* read_into = exchange.resolving_sibling ? exchange.sibling : exchange.entry;
  if (result >= 0 && static_cast<uint64_t>(result) == read_into->info.size) {
    _cache.body_filled(read_into);
  } else {
    _cache.drop_body(read_into);  // changed under us: the splice path copes
  }
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  if (exchange.resolving_sibling) {
    sibling_resolved(connection, read_into);
  } else {
    serve_entry(connection);
  }
}

void Worker::serve_entry(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  CacheEntry* entry = exchange.entry;
  switch (entry->kind) {
    case EntryKind::file:
      respond_with_file(connection);
      return;
    case EntryKind::redirect:
      _cache.release(entry);
      exchange.entry = nullptr;
      respond_redirect_to_directory(connection);
      return;
    case EntryKind::status: {
      uint16_t status = entry->status;
      _cache.release(entry);
      exchange.entry = nullptr;
      respond_status(connection, status);
      return;
    }
  }
}

// A directory request tries each --index file in turn; when none exists, the
// directory itself is opened to tell 403 (exists, no index) from 404.
void Worker::try_next_index(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  char* directory_end = exchange.scratch + exchange.path_length;  // after its '/'
  if (exchange.index_tried < _config.index_files.size()) {
    const std::string& name = _config.index_files[exchange.index_tried++];
    std::memcpy(directory_end, name.c_str(), name.size() + 1);
  } else {
    exchange.checking_directory = true;
    *directory_end = '\0';
  }
  // "/" alone is the docroot itself: "." relative to the root fd.
  const char* relative = exchange.scratch + 1;
  queue_open(connection, *relative == '\0' ? "." : relative);
}

void Worker::queue_open(Connection& connection, const char* relative_path) {
  Exchange& exchange = *connection.exchange;
  connection.state = ConnectionState::resolving;
  exchange.how = {};
  // O_NONBLOCK: opening a FIFO someone left in the docroot must not park an
  // io-wq thread waiting for a writer. It has no effect on regular files.
  exchange.how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  // The kernel, not the normaliser, is the last word: nothing outside the
  // docroot is ever opened, whatever symlinks say.
  exchange.how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
                        (_config.no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  io_uring_prep_openat2(queue(connection, Op::open), _context.root_fd, relative_path,
                        &exchange.how);
}

void Worker::on_open(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    if (result >= 0) {
      close_file(result);
    }
    return;
  }
  Exchange& exchange = *connection.exchange;
  if (exchange.resolving_sibling) {
    if (result >= 0) {
      exchange.file_fd = result;
      queue_statx_of_open_file(connection);
    } else {
      uint16_t status = status_for_errno(-result);
      if (status == 404 || status == 403) {
        remember_answer(connection, EntryKind::status, status);  // no sibling: remembered
      }
      sibling_resolved(connection, nullptr);
    }
    return;
  }
  if (result < 0) {
    bool next_index = exchange.index_tried > 0 && !exchange.checking_directory &&
                      result == -ENOENT;
    if (next_index) {
      try_next_index(connection);
      return;
    }
    uint16_t status = status_for_errno(-result);
    if (status == 404 || status == 403) {
      remember_answer(connection, EntryKind::status, status);  // a flood of misses stays here
    } else if (status == 500) {
      log_error("ringhttpd: worker %u: open %s: %s", _index, exchange.scratch,
                strerror(-result));
    }
    respond_status(connection, status);
    return;
  }
  exchange.file_fd = result;
  queue_statx_of_open_file(connection);
}

// The fd is known only once the open completed, so STATX cannot be linked to
// it. On this kernel STATX runs on an io-wq thread; the cache keeps it off
// the warm path.
void Worker::queue_statx_of_open_file(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  io_uring_prep_statx(queue(connection, Op::statx), exchange.file_fd, "", AT_EMPTY_PATH,
                      STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME | STATX_INO,
                      &exchange.stat_buffer);
}

// A sibling ("file.br") was opened and statted: remembered like any file,
// its bytes read if small, then the choice goes on.
void Worker::remember_sibling(Connection& connection, int result) {
  Exchange& exchange = *connection.exchange;
  FileInfo info = FileInfo::from_statx(exchange.stat_buffer);
  if (result < 0 || !info.is_regular()) {
    close_file(exchange.file_fd);  // not a sibling (a directory named x.br, say)
    sibling_resolved(connection, nullptr);
    return;
  }
  std::string_view opened(exchange.scratch);
  CacheEntry* sibling = _cache.insert_file(cache_key(exchange), opened.substr(1), exchange.file_fd,
                                           info, _context.mime_types->lookup(opened), _now_ms);
  exchange.file_fd = -1;
  if (char* body = _cache.body_buffer(sibling)) {
    exchange.sibling = sibling;
    io_uring_prep_read(queue(connection, Op::read_body), sibling->fd, body,
                       static_cast<unsigned>(info.size), 0);
    return;
  }
  sibling_resolved(connection, sibling);
}

void Worker::on_statx(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  Exchange& exchange = *connection.exchange;
  if (exchange.resolving_sibling) {
    remember_sibling(connection, result);
    return;
  }
  if (result < 0) {
    log_error("ringhttpd: worker %u: statx %s: %s", _index, exchange.scratch, strerror(-result));
    respond_status(connection, 500);
    return;
  }
  exchange.file = FileInfo::from_statx(exchange.stat_buffer);
  if (exchange.file.is_regular() && !exchange.checking_directory) {
    remember_file(connection);
  } else if (exchange.file.is_directory() && !exchange.trailing_slash) {
    remember_answer(connection, EntryKind::redirect, 301);
    respond_redirect_to_directory(connection);
  } else {
    // A directory without an index, or a FIFO, socket or device node.
    remember_answer(connection, EntryKind::status, 403);
    respond_status(connection, 403);
  }
}

// --health-path and --metrics-path, answered before any file lookup.
bool Worker::serve_endpoint(Connection& connection) {
  if (_config.health_path.empty() && _config.metrics_path.empty()) {
    return false;  // the usual case: nothing to compare on a file request
  }
  std::string_view path = target_path(connection.exchange->request.target);
  if (!_config.health_path.empty() && path == _config.health_path) {
    // 503 while stopping: a load balancer drains this origin first.
    respond_generated(connection, _stopping ? 503 : 200, "text/plain; charset=utf-8", false);
    return true;
  }
  if (!_config.metrics_path.empty() && path == _config.metrics_path) {
    const PeerAddress& peer = connection.peer;
    if (peer.family == 0 || !_config.metrics_allow.allows(peer.family, peer.bytes)) {
      respond_status(connection, 403);
    } else {
      respond_generated(connection, 200, "text/plain; version=0.0.4; charset=utf-8", true);
    }
    return true;
  }
  return false;
}

// A generated body (metrics, or the health word) is written in the second
// half of scratch, then moved right after the head, which now knows its length.
void Worker::respond_generated(Connection& connection, uint16_t status,
                               std::string_view content_type, bool metrics) {
  Exchange& exchange = *connection.exchange;
  size_t half = exchange.scratch_capacity / 2;
  HeaderWriter body(exchange.scratch + half, exchange.scratch_capacity - half);
  if (metrics) {
    render_metrics(_context.all_stats, _config.workers, body);
  } else {
    body.append(status == 200 ? "ok\n" : "stopping\n");
  }
  HeaderWriter head(exchange.scratch, half);
  render_generated_head(head, common_fields(exchange), status, content_type, body.size());
  if (body.overflowed()) {
    log_error("ringhttpd: worker %u: generated body larger than %zu bytes; closing", _index,
              exchange.scratch_capacity - half);
    abort(connection);
    return;
  }
  exchange.status = status;
  exchange.body_bytes_sent = exchange.head_only ? 0 : body.size();
  if (!exchange.head_only) {
    head.append(body.text());  // moved down to follow the head
  }
  send_head_only(connection, head);
}

CommonFields Worker::common_fields(const Exchange& exchange) {
  CommonFields common;
  common.date = _date.get(_now_seconds);
  if (!exchange.keep_alive) {
    common.connection_field = "close";
  } else if (exchange.request.version_minor == 0) {
    common.connection_field = "keep-alive";
  }
  return common;
}

void Worker::respond_status(Connection& connection, uint16_t status) {
  Exchange& exchange = *connection.exchange;
  exchange.status = status;
  exchange.body_bytes_sent = exchange.head_only ? 0 : status_body_bytes(status);
  HeaderWriter head(exchange.scratch, exchange.scratch_capacity);
  if (status == 405) {
    render_status_response(head, common_fields(exchange), status, exchange.head_only, "Allow",
                           {allowed_methods});
  } else {
    render_status_response(head, common_fields(exchange), status, exchange.head_only);
  }
  send_head_only(connection, head);
}

// "/docs" names a directory: 301 to "docs/", relative, so it stays right
// behind any proxy or CDN that rewrites the host or the path prefix.
void Worker::respond_redirect_to_directory(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  std::string_view path = target_path(exchange.request.target);
  std::string_view last_segment = path.substr(path.rfind('/') + 1);
  // "a:b/" would read as a URI scheme; "./a:b/" cannot.
  std::string_view prefix = last_segment.find(':') != std::string_view::npos ? "./" : "";
  exchange.status = 301;
  exchange.body_bytes_sent = exchange.head_only ? 0 : status_body_bytes(301);
  HeaderWriter head(exchange.scratch, exchange.scratch_capacity);
  render_status_response(head, common_fields(exchange), 301, exchange.head_only, "Location",
                         {prefix, last_segment, "/", target_query(exchange.request.target)});
  send_head_only(connection, head);
}

}  // namespace ringhttpd
