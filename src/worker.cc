#include "src/worker.h"

#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <ctime>

#include "src/log.h"

namespace ringhttpd {
namespace {

constexpr unsigned recv_buffer_count = 512;   // provided buffers per worker
constexpr unsigned recv_buffer_bytes = 4096;  // enough for a typical request head
constexpr uint16_t recv_buffer_group = 0;
constexpr unsigned prefilled_pipes = 4;
constexpr unsigned io_wq_bounded_workers = 8;
constexpr unsigned io_wq_unbounded_workers = 32;
// Room in the scratch area beyond the request-target: the response head's
// fixed fields, an index file name appended to a directory path, and the
// part headers of a multipart/byteranges response (up to --max-ranges).
constexpr uint32_t scratch_reserve_bytes = 8192;

CacheLimits cache_limits(const Config& config) {
  CacheLimits limits;
  limits.max_entries = config.cache_entries;
  limits.valid_ms = config.cache_valid_ms;
  limits.body_max_bytes = config.cache_body_max_bytes;
  limits.body_total_bytes = config.cache_body_total_bytes / config.workers;
  return limits;
}

uring::RingOptions ring_options(const Config& config) {
  uring::RingOptions options;
  // Every connection can have a few completions due at once; size the CQ so
  // a burst does not overflow (multishot ops end on overflow, design.md).
  uint64_t wanted = std::clamp<uint64_t>(uint64_t{config.max_connections} * 4, 4096, 1u << 19);
  options.cq_entries = static_cast<unsigned>(std::bit_ceil(wanted));
  return options;
}

// Bodies above 1 MiB borrow a 1 MiB pipe (pipe-max-size's default) while
// enlarged pipes take at most a quarter of the per-user pipe budget, shared
// by the workers; the rest stays for the pools' own pipes.
uring::PipeGrowth pipe_growth(const Config& config) {
  constexpr uint32_t grown_bytes = 1u << 20;
  constexpr uint64_t most_per_worker = 64;  // also when the budget is unlimited (0)
  if (config.pipe_size_bytes >= grown_bytes) {
    return {};
  }
  uint64_t budget = uring::PipePool::user_budget_bytes();
  uint64_t per_worker = budget == 0 ? most_per_worker
                                    : budget / 4 / std::max(config.workers, 1u) / grown_bytes;
  return {grown_bytes, grown_bytes, static_cast<unsigned>(std::min(per_worker, most_per_worker))};
}

// accept(2) reports some errors of the connection being accepted (it was
// reset, or its network failed); the next connection in the queue is not
// affected, so accepting goes on at once. A client can cause these at will,
// so they are not logged at the default level.
bool accept_error_names_one_connection(int error) {
  switch (error) {
    case ECONNABORTED:
    case EPROTO:
    case EPERM:  // a firewall or LSM refused this connection
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
    case EINTR:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

}  // namespace

Worker::Worker(unsigned index, const WorkerContext& context, std::vector<int> listeners,
               std::atomic<int>& log_fd_slot, WorkerStats& stats)
    : _index(index),
      _context(context),
      _config(*context.config),
      _ring(ring_options(*context.config)),
      _recv_buffers(_ring, recv_buffer_group, recv_buffer_count,
                    std::min(recv_buffer_bytes, context.config->max_header_bytes)),
      _pipes(context.config->pipe_size_bytes, prefilled_pipes, pipe_growth(*context.config)),
      _exchanges(context.config->max_header_bytes,
                 context.config->max_uri_bytes + scratch_reserve_bytes),
      _cache(cache_limits(*context.config), *this),
      _listeners(std::move(listeners)),
      _accept_armed(_listeners.size(), false),
      _log_fd_slot(log_fd_slot),
      _stats(stats) {
  _ring.require_opcodes({IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_SPLICE,
                         IORING_OP_OPENAT2, IORING_OP_STATX, IORING_OP_CLOSE,
                         IORING_OP_SHUTDOWN, IORING_OP_TIMEOUT, IORING_OP_POLL_ADD,
                         IORING_OP_ASYNC_CANCEL});
  // STATX, SPLICE and SHUTDOWN always run on io-wq threads (design.md). With
  // many slow readers their number must stay bounded: [0] caps the workers
  // for regular-file I/O, [1] those for sockets and pipes. Excess work queues.
  unsigned max_io_workers[2] = {io_wq_bounded_workers, io_wq_unbounded_workers};
  io_uring_register_iowq_max_workers(_ring.raw(), max_io_workers);
  getrandom(&_random_state, sizeof _random_state, 0);
  _random_state |= 1;  // xorshift must not start at 0
  _limits.max_request_line_bytes = _config.max_uri_bytes;
  _limits.max_header_bytes = _config.max_header_bytes;
  _limits.max_header_count = _config.max_header_count;
  // Once a second, or as often as --log-flush asks (down to 10 ms): the
  // tick is what seals a buffered log block, and what expires deadlines.
  uint32_t tick_ms = std::clamp<uint32_t>(_config.log_flush_ms, 10, 1000);
  _tick_interval.tv_sec = tick_ms / 1000;
  _tick_interval.tv_nsec = static_cast<long long>(tick_ms % 1000) * 1'000'000;
}

Worker::~Worker() {
  _cache.clear();
  if (_log_fd >= 0) {
    close(_log_fd);
  }
  report_log_drops(true);
}

void Worker::close_fd(int fd) {
  if (_loop_running) {
    io_uring_prep_close(queue_detached(Op::close_file), fd);
  } else {
    close(fd);  // start-up or tear-down: nothing would submit a queued CLOSE
  }
}

void Worker::run() {
  _loop_running = true;
  _log_fd = _log_fd_slot.exchange(-1);
  refresh_hosts();
  refresh_clock();
  _stats.heartbeat_ms.store(_now_ms, std::memory_order_relaxed);
  for (uint32_t listener = 0; listener < _listeners.size(); ++listener) {
    arm_accept(listener);
  }
  arm_tick();
  io_uring_prep_poll_add(queue_detached(Op::stop), _context.stop_event_fd, POLLIN);
  for (;;) {
    if (_stopping && _live_connections == 0) {
      // Every response is over: write what the log still holds, then go.
      _log.seal_if_due(_now_ms, 0, true);
      pump_log(LogPump::everything);
      if (!_log.writing() || _now_ms >= _stop_deadline_ms) {
        break;
      }
    }
    int result = _ring.submit_and_wait();
    if (result < 0 && result != -EINTR && result != -ETIME && result != -EBUSY) {
      log_error("ringhttpd: worker %u: io_uring_enter: %s", _index, strerror(-result));
    }
    refresh_clock();
    _ring.drain_completions([this](const io_uring_cqe* cqe) { dispatch(cqe); });
  }
  _loop_running = false;
}

void Worker::refresh_clock() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  _now_ms = int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  _now_seconds = now.tv_sec;
}

io_uring_sqe* Worker::queue(Connection& connection, Op op) {
  io_uring_sqe* sqe = _ring.get_sqe();
  io_uring_sqe_set_data64(
      sqe, uring::encode({static_cast<uint8_t>(op), connection.generation, connection.index}));
  ++connection.in_flight;
  return sqe;
}

io_uring_sqe* Worker::queue_detached(Op op, uint32_t slot_index) {
  io_uring_sqe* sqe = _ring.get_sqe();
  io_uring_sqe_set_data64(sqe, uring::encode({static_cast<uint8_t>(op), 0, slot_index}));
  return sqe;
}

void Worker::dispatch(const io_uring_cqe* cqe) {
  uring::Tag tag = uring::decode(cqe->user_data);
  auto op = static_cast<Op>(tag.op);
  switch (op) {
    case Op::accept:
      on_accept(tag.slot, cqe);
      return;
    case Op::tick:
      on_tick();
      return;
    case Op::stop:
      on_stop();
      return;
    case Op::cancel_accept:
    case Op::close_file:
      return;
    case Op::log_write:
      on_log_write(cqe->res);
      return;
    case Op::recv:
    case Op::send:
    case Op::splice_in:
    case Op::splice_out:
    case Op::poll_out:
    case Op::open:
    case Op::statx:
    case Op::revalidate:
    case Op::read_body:
    case Op::shutdown:
    case Op::cancel:
    case Op::close_socket:
      break;
  }
  Connection& connection = slot(tag.slot);
  if (connection.state == ConnectionState::free ||
      (connection.generation & uring::generation_mask) != tag.generation) {
    // A completion outliving its connection cannot happen while slots wait
    // for in_flight to reach zero; if it ever does, hand back its buffer.
    if (uring::BufferRing::has_buffer(cqe)) {
      _recv_buffers.recycle(uring::BufferRing::buffer_id(cqe));
    }
    log_error("ringhttpd: worker %u: stale completion for slot %u", _index, tag.slot);
    return;
  }
  --connection.in_flight;
  dispatch_connection(connection, op, cqe);
  if (connection.state == ConnectionState::aborting && connection.in_flight == 0) {
    queue_close(connection);
  }
}

void Worker::dispatch_connection(Connection& connection, Op op, const io_uring_cqe* cqe) {
  switch (op) {
    case Op::recv: {
      const char* bytes = nullptr;
      bool pooled = uring::BufferRing::has_buffer(cqe);
      uint16_t buffer_id = pooled ? uring::BufferRing::buffer_id(cqe) : 0;
      if (pooled) {
        bytes = _recv_buffers.buffer(buffer_id);
      }
      on_recv(connection, cqe->res, bytes);
      if (pooled) {
        _recv_buffers.recycle(buffer_id);
      }
      return;
    }
    case Op::send:
    case Op::splice_in:
    case Op::splice_out:
    case Op::poll_out:
      on_chain_completion(connection, op, cqe->res);
      return;
    case Op::open:
      on_open(connection, cqe->res);
      return;
    case Op::statx:
      on_statx(connection, cqe->res);
      return;
    case Op::revalidate:
      on_revalidate(connection, cqe->res);
      return;
    case Op::read_body:
      on_read_body(connection, cqe->res);
      return;
    case Op::shutdown:
      on_shutdown(connection, cqe->res);
      return;
    case Op::cancel:
      return;
    case Op::close_socket:
      release_slot(connection);
      return;
    case Op::accept:
    case Op::tick:
    case Op::stop:
    case Op::cancel_accept:
    case Op::close_file:
    case Op::log_write:
      return;  // not connection operations; dispatch() handled them
  }
}

// ---- accept -----------------------------------------------------------------

void Worker::arm_accept(uint32_t listener) {
  io_uring_sqe* sqe = queue_detached(Op::accept, listener);
  io_uring_prep_multishot_accept(sqe, _listeners[listener], nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  _accept_armed[listener] = true;
}

void Worker::on_accept(uint32_t listener, const io_uring_cqe* cqe) {
  // Multishot accept ends (no F_MORE) on errors such as ENFILE and on CQ
  // overflow: always re-arm when F_MORE is missing (design.md).
  if ((cqe->flags & IORING_CQE_F_MORE) == 0) {
    _accept_armed[listener] = false;
  }
  if (cqe->res >= 0) {
    if (_stopping) {
      close(cqe->res);
    } else {
      admit(cqe->res);
    }
  } else if (accept_error_names_one_connection(-cqe->res)) {
    log_info("ringhttpd: worker %u: accept: %s", _index, strerror(-cqe->res));
  } else if (cqe->res != -ECANCELED) {
    // Out of descriptors or memory, or a listener that no longer listens
    // (EINVAL after a shutdown() of the socket): re-arming at once would
    // fail again at once. Measured before this pause: 300,000 log lines
    // and a spinning worker in two seconds. One line, one try per tick.
    if (!_accept_backoff) {
      log_warn("ringhttpd: worker %u: accept: %s; pausing accepts for a tick", _index,
               strerror(-cqe->res));
    }
    _accept_backoff = true;
  }
  if (!_accept_armed[listener] && !_stopping && !_accept_backoff) {
    arm_accept(listener);
  }
}

void Worker::admit(int fd) {
  Connection* connection = allocate_slot();
  if (connection == nullptr && clobber_longest_idle()) {
    connection = allocate_slot();
  }
  if (connection == nullptr) {
    // Full, and every connection is busy or still owed its first response.
    ++_refused_total;
    if (!_refusal_logged) {
      log_warn("ringhttpd: worker %u: %u connections, none idle: refusing new ones", _index,
               _live_connections);
      _refusal_logged = true;
    }
    io_uring_prep_close(queue_detached(Op::close_file), fd);
    return;
  }
  connection->clobbered = false;
  connection->fd = fd;
  connection->state = ConnectionState::reading;
  connection->in_flight = 0;
  connection->discard_body_bytes = 0;
  connection->requests_started = 0;
  connection->exchange = nullptr;
  connection->peer = {};
  if (_log_fd >= 0 || !_config.metrics_path.empty()) {
    // Multishot accept cannot return addresses, so one getpeername per
    // connection, and only when a log or --metrics-allow needs it.
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      connection->peer.set(address);
    }
  }
  ++_live_connections;
  timer_set(*connection, TimerKind::header, _now_ms + _config.header_timeout_ms);
  arm_recv(*connection);
}

// ---- slots ------------------------------------------------------------------

// Connections a clobber is closing still hold their slots until their last
// completion, so the limit stretches by their number meanwhile.
Connection* Worker::allocate_slot() {
  if (_live_connections >= _config.max_connections + _clobbering) {
    return nullptr;
  }
  if (_free_slots.empty()) {
    // Slots come in chunks so they never move once handed out.
    uint32_t count = 1u << chunk_shift;
    _slot_chunks.push_back(std::make_unique<Connection[]>(1u << chunk_shift));
    for (uint32_t i = count; i-- > 0;) {
      _free_slots.push_back(_slots_made + i);
    }
    _slots_made += count;
  }
  uint32_t index = _free_slots.back();
  _free_slots.pop_back();
  slot(index).index = index;
  return &slot(index);
}

// Full: close the longest-idle keep-alive connection (the head of the idle
// list) to admit a new one, as mathopd and nginx do. A connection still
// owed its first response is never in that list, so never clobbered.
bool Worker::clobber_longest_idle() {
  uint32_t longest = _timers[static_cast<size_t>(TimerKind::idle)].head;
  if (longest == no_slot) {
    return false;
  }
  Connection& idle = slot(longest);
  idle.clobbered = true;
  ++_clobbering;
  ++_clobbered_total;
  abort(idle);
  return true;
}

void Worker::release_slot(Connection& connection) {
  if (connection.clobbered) {
    connection.clobbered = false;
    --_clobbering;
  }
  release_exchange(connection);
  timer_clear(connection);
  connection.fd = -1;
  connection.state = ConnectionState::free;
  connection.generation = (connection.generation + 1) & uring::generation_mask;
  connection.discard_body_bytes = 0;
  _free_slots.push_back(connection.index);
  --_live_connections;
}

// ---- timers -----------------------------------------------------------------

void Worker::timer_set(Connection& connection, TimerKind kind, int64_t deadline_ms) {
  timer_clear(connection);
  uint32_t index = connection.index;
  timer_append(_timers[static_cast<size_t>(kind)], kind, index, deadline_ms,
               [this](uint32_t i) -> TimerLink& { return slot(i).timer; });
  ++_timer_lengths[static_cast<size_t>(kind)];
}

void Worker::timer_clear(Connection& connection) {
  if (connection.timer.kind == TimerKind::none) {
    return;
  }
  uint32_t index = connection.index;
  --_timer_lengths[static_cast<size_t>(connection.timer.kind)];
  timer_unlink(_timers[static_cast<size_t>(connection.timer.kind)], index,
               [this](uint32_t i) -> TimerLink& { return slot(i).timer; });
}

void Worker::expire_timers() {
  for (TimerList& list : _timers) {
    while (list.head != no_slot && slot(list.head).timer.deadline_ms <= _now_ms) {
      Connection& expired = slot(list.head);
      if (expired.timer.kind == TimerKind::send) {
        // A reader that stopped reading: reset rather than close, or the
        // kernel keeps trickling the send buffer (megabytes) to it for
        // minutes after (seen: 100 s through a 4 KiB window).
        linger reset{1, 0};
        setsockopt(expired.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      }
      timer_clear(expired);
      abort(expired);
    }
  }
}

// ---- tick and stop ----------------------------------------------------------

void Worker::arm_tick() {
  io_uring_prep_timeout(queue_detached(Op::tick), &_tick_interval, 0, 0);
}

void Worker::publish_stats() {
  auto store = [](auto& field, uint64_t value) { field.store(value, std::memory_order_relaxed); };
  // The watchdog's proof of life: this ring is completing operations.
  _stats.heartbeat_ms.store(_now_ms, std::memory_order_relaxed);
  store(_stats.connections, _live_connections);
  store(_stats.idle_connections, _timer_lengths[static_cast<size_t>(TimerKind::idle)]);
  store(_stats.clobbered, _clobbered_total);
  store(_stats.refused, _refused_total);
  const CacheCounters& cache = _cache.counters();
  store(_stats.cache_hits, cache.hits);
  store(_stats.cache_misses, cache.misses);
  store(_stats.cache_negative_hits, cache.negative_hits);
  store(_stats.cache_evictions, cache.evictions);
  store(_stats.cache_revalidations, cache.revalidations);
  store(_stats.cache_open_files, cache.open_fds);
  store(_stats.cache_body_bytes, cache.body_bytes);
  store(_stats.log_dropped, _log.dropped_entries());
}

void Worker::on_tick() {
  publish_stats();
  expire_timers();
  refresh_hosts();
  _refusal_logged = false;
  if (_context.cache_generation != nullptr &&
      _context.cache_generation->load(std::memory_order_relaxed) != _cache_generation) {
    _cache_generation = _context.cache_generation->load(std::memory_order_relaxed);
    _cache.clear();  // SIGHUP: everything is opened afresh; responses in flight keep theirs
  }
  _log.seal_if_due(_now_ms, _config.log_flush_ms, false);
  pump_log(LogPump::everything);
  report_log_drops(false);
  if (_accept_backoff && !_stopping) {
    _accept_backoff = false;
    for (uint32_t listener = 0; listener < _listeners.size(); ++listener) {
      if (!_accept_armed[listener]) {
        arm_accept(listener);
      }
    }
  }
  if (_stopping && _now_ms >= _stop_deadline_ms) {
    for (uint32_t index = 0; index < _slots_made; ++index) {
      if (slot(index).state != ConnectionState::free) {
        abort(slot(index));
      }
    }
  }
  arm_tick();
}

void Worker::on_stop() {
  _stopping = true;
  _stop_deadline_ms = _now_ms + _config.shutdown_timeout_ms;
  for (uint32_t listener = 0; listener < _listeners.size(); ++listener) {
    if (_accept_armed[listener]) {
      io_uring_prep_cancel64(queue_detached(Op::cancel_accept),
                             uring::encode({static_cast<uint8_t>(Op::accept), 0, listener}), 0);
    }
  }
  // Idle connections close now; the others finish their response first.
  for (uint32_t index = 0; index < _slots_made; ++index) {
    Connection& connection = slot(index);
    bool idle = connection.state == ConnectionState::reading &&
                (connection.exchange == nullptr ||
                 connection.exchange->in_start == connection.exchange->in_end);
    if (idle) {
      abort(connection);
    }
  }
}

// ---- access log -----------------------------------------------------------------

void Worker::log_exchange(const Connection& connection) {
  const Exchange& exchange = *connection.exchange;
  _stats.requests.fetch_add(1, std::memory_order_relaxed);
  if (exchange.status >= 100 && exchange.status < 600) {
    _stats.responses_by_class[exchange.status / 100 - 1].fetch_add(1, std::memory_order_relaxed);
  }
  _stats.body_bytes.fetch_add(exchange.body_bytes_sent, std::memory_order_relaxed);
  if (_log_fd < 0) {
    return;
  }
  LogEntry entry;
  entry.peer = connection.peer;
  entry.clf_time = _clf_time.get(_now_seconds);
  if (exchange.request_parsed) {
    const Request& request = exchange.request;
    entry.method = request.method_text;
    entry.target = request.target;
    entry.version_minor = request.version_minor;
    entry.referer = request.referer;
    entry.user_agent = request.user_agent;
  }
  entry.status = exchange.status;
  entry.body_bytes = exchange.body_bytes_sent;
  _log.append(entry, _config.log_combined ? LogFormat::combined : LogFormat::common, _now_ms);
  pump_log(LogPump::full_chain);
}

// Log writes run on io-wq threads: ext4 has no non-blocking buffered writes,
// so each WRITE is handed to one, and a linked chain runs in the thread that
// took its first write. One chain per 4 KiB buffer cost that thread 0.32 us
// of CPU per 1 KiB request; chains of log_chain_buffers cost 0.09-0.13 us
// (bench/RESULTS.md). The tick writes whatever is due, so --log-flush holds.
constexpr size_t log_chain_buffers = 8;

// All sealed buffers go out as one linked chain, started only when the last
// chain is done: the links keep this worker's entries in order. A new
// descriptor from a reopen is taken between chains, so no entry is lost:
// those already written went to the old file, the rest go to the new one.
void Worker::pump_log(LogPump what) {
  if (_log_fd < 0 || _log.writing() || _log.sealed_buffers() == 0) {
    return;
  }
  if (what == LogPump::full_chain && _log.sealed_buffers() < log_chain_buffers) {
    return;  // the tick writes what is due
  }
  if (int reopened = _log_fd_slot.exchange(-1); reopened >= 0) {
    close_fd(_log_fd);
    _log_fd = reopened;
  }
  _ring.reserve(static_cast<unsigned>(_log.sealed_buffers()));
  io_uring_sqe* last = nullptr;
  for (std::string_view bytes = _log.write_next(); !bytes.empty(); bytes = _log.write_next()) {
    if (last != nullptr) {
      last->flags |= IOSQE_IO_LINK;
    }
    last = queue_detached(Op::log_write);
    // Offset -1: the file position, which O_APPEND makes the end.
    io_uring_prep_write(last, _log_fd, bytes.data(), static_cast<unsigned>(bytes.size()),
                        static_cast<uint64_t>(-1));
  }
}

void Worker::on_log_write(int result) {
  _log.write_done(result);
  pump_log(LogPump::full_chain);
}

// A full disk or a vanished reader must not flood stderr: one line per
// interval, with the count.
void Worker::report_log_drops(bool force) {
  uint64_t dropped = _log.dropped_entries();
  if (dropped == _log_drops_reported || (!force && _now_ms < _log_report_due_ms)) {
    return;
  }
  log_warn("ringhttpd: worker %u: access log: %llu entries dropped (%s)", _index,
           static_cast<unsigned long long>(dropped - _log_drops_reported),
           _log.last_error() != 0 ? strerror(_log.last_error()) : "buffers full: the log is too slow");
  _log_drops_reported = dropped;
  _log_report_due_ms = _now_ms + 10'000;
}

}  // namespace ringhttpd
