#include "src/worker.h"

#include <poll.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "conf/pipe_budget.h"
#include "src/log.h"

namespace ringhttpd {
namespace {

constexpr unsigned recv_buffer_count = 512;   // provided buffers per worker
constexpr unsigned recv_buffer_bytes = 4096;  // enough for a typical request head
constexpr uint16_t recv_buffer_group = 0;
constexpr unsigned prefilled_pipes = 4;
constexpr unsigned io_wq_file_workers = 8;  // the most of --io-threads that file I/O may take
// Room in the scratch area beyond the request-target: the response head's
// fixed fields, an index file name appended to a directory path, and the
// part headers of a multipart/byteranges response (up to --max-ranges).
constexpr uint32_t scratch_reserve_bytes = 8192;

// The tick's bounded share of dropping idle cache entries: a cache of
// 16,384 idle entries empties in 16 ticks.
constexpr size_t idle_expiries_per_tick = 1024;

// Reading, with no bytes of a next request held.
bool waits_for_a_request(const Connection& connection) {
  return connection.state == ConnectionState::reading &&
         (connection.exchange == nullptr ||
          connection.exchange->in_start == connection.exchange->in_end);
}

CacheLimits cache_limits(const Config& config) {
  CacheLimits limits;
  limits.max_entries = config.cache_entries;
  limits.valid_ms = config.cache_valid_ms;
  limits.idle_ms = config.cache_idle_ms;
  limits.body_max_bytes = config.cache_body_max_bytes;
  limits.body_total_bytes = config.cache_body_total_bytes / config.workers;
  return limits;
}

uring::RingOptions ring_options(const Config& config) {
  uring::RingOptions options;
  // Every connection can have a few completions due at once; size the CQ so
  // a burst does not overflow (uring/KERNEL.md, "Multishot ends").
  uint64_t wanted = std::clamp<uint64_t>(uint64_t{config.max_connections} * 4, 4096, 1u << 19);
  options.cq_entries = static_cast<unsigned>(std::bit_ceil(wanted));
  return options;
}

// Bodies larger than one pipe borrow an enlarged one, as many at once as
// conf/pipe_budget.h allows: a 1 MiB body then goes in one chain instead
// of four, 143 to 113 us of server CPU per response (bench/RESULTS.md).
uring::PipeGrowth pipe_growth(const Config& config) {
  if (config.grown_pipes_per_worker == 0) {
    return {};
  }
  return {grown_pipe_bytes, config.pipe_size_bytes, config.grown_pipes_per_worker};
}

}  // namespace

Worker::Worker(unsigned index, const WorkerContext& context, std::vector<int> listeners,
               std::atomic<int>& log_fd_slot, WorkerStats& stats)
    : _index(index),
      _context(context),
      _config(*context.config),
      _stats(stats),
      _docroot(*context.docroot),
      _ring(ring_options(_config)),
      _ops(_ring),
      _fd_closer(_ops),
      _recv_buffers(_ring, recv_buffer_group, recv_buffer_count,
                    std::min(recv_buffer_bytes, _config.max_header_bytes)),
      _pipes(_config.pipe_size_bytes, prefilled_pipes, pipe_growth(_config),
             _config.pipes_per_worker),
      _cache(cache_limits(_config), _fd_closer),
      _exchanges(_config.max_header_bytes, _config.max_uri_bytes + scratch_reserve_bytes, _pipes,
                 _cache, _fd_closer),
      _connections(_config.max_connections),
      _log(index, _config, _loop, _ops, _fd_closer, log_fd_slot, stats),
      _closer(_config, _loop, _ops, _connections, _exchanges, _log, _recv_buffers),
      _handshaker(index, _config, _loop, _ops, _recv_buffers, _connections, _tls_buffers, _closer, stats),
      _input(_config, _loop, _ops, _recv_buffers, _exchanges, _connections),
      _router(_config, context.vhosts),
      _resolver(index, _config, *context.mime_types, _docroot, _loop, _ops, _cache, _fd_closer),
      _transport(_ops, _pipes),
      _sender(_config, _loop, _connections, _transport),
      _tls_sender(_config, _loop, _ops, _connections, _tls_buffers),
      _flow(index, _config, _loop,
            {_input, _router, _resolver, _sender, _tls_sender, _closer, _exchanges, _cache, _log},
            context.all_stats),
      _acceptor(index, _config, _loop, _ops, std::move(listeners), context.listener_tls,
                !context.listeners_inherited, _connections, _closer, _input, _handshaker, _tls, _log) {
  refresh_tls();
  _ring.require_opcodes(required_opcodes());
  // STATX, SPLICE and SHUTDOWN always run on io-wq threads (uring/KERNEL.md,
  // "Always io-wq"). With many slow readers their number must stay bounded:
  // [0] caps the workers for regular-file I/O, [1] those for sockets and
  // pipes (--io-threads, of which file I/O gets 8 at most). Excess work queues.
  unsigned max_io_workers[2] = {std::min(io_wq_file_workers, _config.io_threads), _config.io_threads};
  io_uring_register_iowq_max_workers(_ring.raw(), max_io_workers);
  // Once a second, or as often as --log-flush asks (down to 10 ms): the
  // tick is what seals a buffered log block, and what expires deadlines.
  uint32_t tick_ms = std::clamp<uint32_t>(_config.log_flush_ms, 10, 1000);
  _tick_interval.tv_sec = tick_ms / 1000;
  _tick_interval.tv_nsec = static_cast<long long>(tick_ms % 1000) * 1'000'000;
}

Worker::~Worker() { _cache.clear(); }

// New TLS connections take the contexts of the last SIGHUP; the ones
// already open keep theirs (their sessions hold them).
void Worker::refresh_tls() {
  if (_context.tls == nullptr || _context.tls->version() == _tls_version) {
    return;
  }
  _tls.contexts = _context.tls->current(_tls_version);
  _tls.kernel_records = _context.tls->kernel_records();
}

void Worker::run() {
  _fd_closer.set_loop_running(true);
  _log.start();
  _router.refresh_hosts();
  _loop.refresh_clock();
  _stats.heartbeat_ms.store(_loop.now_ms, std::memory_order_relaxed);
  _acceptor.start();
  arm_tick();
  io_uring_prep_poll_add(_ops.queue_detached(Op::stop), _context.stop_event_fd, POLLIN);
  for (;;) {
    if (_acceptor.finished() && _connections.open_count() == 0) {
      // Every response is over: write what the log still holds, then go.
      if (_log.flush_for_stop() || _loop.now_ms >= _loop.stop_deadline_ms) {
        break;
      }
    }
    int result = _ring.submit_and_wait();
    bool failed = result < 0 && result != -EINTR && result != -ETIME;
    if (failed && result != -EBUSY) {
      log_error("ringhttpd: worker %u: io_uring_enter: %s", _index, strerror(-result));
    }
    _loop.refresh_clock();
    unsigned handled = _ring.drain_completions([this](const io_uring_cqe* cqe) { dispatch(*cqe); });
    _flow.resume_pipe_waiters();  // pipes this batch gave back go to those waiting
    if (failed && handled == 0) {
      _ring.back_off();  // the same call would fail again at once
    } else if (!failed) {
      _ring.succeeded();
    }
  }
  _fd_closer.set_loop_running(false);
}

// The one switch: each completion kind goes to exactly one room's on_*;
// what a connection's completion came to goes on to the flow.
void Worker::dispatch(const io_uring_cqe& cqe) {
  uring::Tag tag = uring::decode(cqe.user_data);
  auto op = static_cast<Op>(tag.op);
  Connection* c = nullptr;  // set for every per-connection kind
  if (op_info(op).per_connection) {
    c = _connections.claim(tag.slot, tag.generation);
    if (c == nullptr) {
      // A completion outliving its connection cannot happen while slots
      // wait for in_flight to reach zero; if it ever does, it is said.
      log_error("ringhttpd: worker %u: stale completion for slot %u", _index, tag.slot);
      op = Op::count;
    }
  }
  int result = cqe.res;
  switch (op) {
    case Op::accept: _acceptor.on_accept(tag.slot, cqe); break;
    case Op::tick: on_tick(); break;
    case Op::stop: on_stop(); break;
    case Op::cancel_accept: break;
    case Op::close_file: break;
    case Op::log_write: _log.on_write(result); break;
    case Op::log_writev: _log.on_writev(result); break;
    // What a handshake step queues (a flight, or the first response) is
    // submitted at once: the step's crypto took hundreds of microseconds,
    // and the rest of the batch, other handshakes perhaps, would hold it
    // back. 64 clients making a full handshake per request: 1,257 to 1,388
    // requests/s (bench/RESULTS.md).
    case Op::handshake_recv:
      _flow.after_handshake(*c, _handshaker.on_recv(*c, cqe));
      _ops.submit_now();
      break;
    case Op::handshake_send:
      _flow.after_handshake(*c, _handshaker.on_sent(*c, result));
      _ops.submit_now();
      break;
    case Op::recv: _flow.after_input(*c, _input.on_recv(*c, cqe)); break;
    case Op::revalidate: _flow.after_resolve(*c, _resolver.on_revalidate(*c, result)); break;
    case Op::open: _flow.after_resolve(*c, _resolver.on_open(*c, result)); break;
    case Op::statx: _flow.after_resolve(*c, _resolver.on_statx(*c, result)); break;
    case Op::read_body: _flow.after_resolve(*c, _resolver.on_read_body(*c, result)); break;
    case Op::send: _flow.after_send(*c, _sender.on_sent(*c, result)); break;
    case Op::send_message: _flow.after_send(*c, _sender.on_message_sent(*c, result)); break;
    case Op::splice_in: _flow.after_send(*c, _sender.on_spliced_in(*c, result)); break;
    case Op::splice_out: _flow.after_send(*c, _sender.on_spliced_out(*c, result)); break;
    case Op::poll_out: _flow.after_send(*c, _sender.on_writable(*c, result)); break;
    case Op::tls_read: _flow.after_send(*c, _tls_sender.on_read(*c, result)); break;
    case Op::tls_send: _flow.after_send(*c, _tls_sender.on_sent(*c, result)); break;
    case Op::close_notify: break;
    case Op::shutdown: _closer.on_shutdown(*c, result); break;
    case Op::drain: _closer.on_drain(*c, result); break;
    case Op::cancel: break;
    case Op::close_socket:
      _handshaker.release(*c);
      _connections.release(*c);
      break;
    case Op::count: break;  // the stale completion above
  }
  if (c != nullptr) {
    _closer.close_when_quiet(*c);
  }
  if (uring::BufferRing::has_buffer(&cqe)) {
    _recv_buffers.recycle(uring::BufferRing::buffer_id(&cqe));  // its bytes are consumed
  }
}

// ---- tick and stop ----------------------------------------------------------

void Worker::arm_tick() {
  io_uring_prep_timeout(_ops.queue_detached(Op::tick), &_tick_interval, 0, 0);
}

void Worker::publish_stats() {
  auto store = [](auto& field, uint64_t value) { field.store(value, std::memory_order_relaxed); };
  // The watchdog's proof of life: this ring is completing operations.
  _stats.heartbeat_ms.store(_loop.now_ms, std::memory_order_relaxed);
  store(_stats.connections, _connections.open_count());
  store(_stats.idle_connections, _connections.idle_count());
  store(_stats.clobbered, _connections.clobbered_total());
  store(_stats.refused, _acceptor.refused_total());
  const CacheCounters& cache = _cache.counters();
  store(_stats.cache_hits, cache.hits);
  store(_stats.cache_misses, cache.misses);
  store(_stats.cache_negative_hits, cache.negative_hits);
  store(_stats.cache_evictions, cache.evictions);
  store(_stats.cache_revalidations, cache.revalidations);
  store(_stats.cache_expired, cache.expired);
  store(_stats.cache_open_files, cache.open_fds);
  store(_stats.cache_body_bytes, cache.body_bytes);
  store(_stats.log_dropped, _log.dropped());
  store(_stats.pipes_open, _pipes.created());
  store(_stats.pipe_waiters, _sender.pipe_waiters());
  store(_stats.pipe_waits, _sender.pipe_waits_total());
  store(_stats.responses_batched, _flow.batched_total());
  _stats.tls_kernel_available.store(_tls.kernel_records ? 1 : 0, std::memory_order_relaxed);
}

void Worker::on_tick() {
  _pipes.trim(prefilled_pipes);  // a peak's pipes go back once idle through a tick
  publish_stats();
  _connections.expire(_loop.now_ms, [this](Connection& connection, TimerKind kind) {
    if (kind == TimerKind::handshake) {
      _handshaker.expire(connection);
    } else {
      _closer.expire(connection, kind);
    }
  });
  refresh_tls();
  _router.refresh_hosts();
  bool flush = _docroot.refresh();  // a deploy: paths name files of another tree now
  if (_context.cache_generation != nullptr &&
      _context.cache_generation->load(std::memory_order_relaxed) != _cache_generation) {
    _cache_generation = _context.cache_generation->load(std::memory_order_relaxed);
    flush = true;  // SIGHUP
  }
  if (flush) {
    _cache.clear();  // everything is opened afresh; responses in flight keep theirs
  }
  _cache.expire_idle(_loop.now_ms, idle_expiries_per_tick);
  _exchanges.trim();
  _tls_buffers.trim();
  _log.on_tick();
  _acceptor.on_tick();
  if (_loop.stopping && !_acceptor.stopped() && _loop.now_ms >= _drain_until_ms) {
    end_drain();
  }
  if (_acceptor.stopped() && _loop.now_ms >= _loop.stop_deadline_ms) {
    _connections.for_each_open([this](Connection& connection) { _closer.abort(connection); });
  }
  arm_tick();
}

// SIGTERM. Every response from now on says Connection: close, and
// --health-path says 503; connections idle in keep-alive close now. With
// --drain-time, accepting goes on that long (a load balancer sees the 503
// and moves away); then it ends.
void Worker::on_stop() {
  _loop.stopping = true;
  // Deadlines, the drain and the grace are swept on the tick: a fast one
  // keeps them close to what they say.
  constexpr long long stopping_tick_ns = 100'000'000;
  if (_tick_interval.tv_sec > 0 || _tick_interval.tv_nsec > stopping_tick_ns) {
    _tick_interval = {0, stopping_tick_ns};
  }
  _connections.for_each_open([this](Connection& connection) {
    if (waits_for_a_request(connection) && connection.requests_started > 0) {
      _closer.abort(connection);  // idle in keep-alive: nothing is owed
    }
  });
  _drain_until_ms = _loop.now_ms + _config.drain_time_ms;
  if (_config.drain_time_ms == 0) {
    end_drain();
  }
}

// Accepting ends: the listeners close (this worker's own, after taking
// what waits in them), responses under way get --shutdown-timeout, and a
// connection that has sent nothing yet gets a short grace, no more.
void Worker::end_drain() {
  _acceptor.stop();
  _loop.stop_deadline_ms = _loop.now_ms + _config.shutdown_timeout_ms;
  _connections.for_each_open([this](Connection& connection) {
    if (connection.state == ConnectionState::handshaking) {
      // Its handshake gets the short grace too, no more.
      int64_t grace_until = _loop.now_ms + _loop.stop_grace_ms(_config.tls_handshake_timeout_ms);
      if (connection.timer.kind != TimerKind::handshake || connection.timer.deadline_ms > grace_until) {
        _connections.set_timer(connection, TimerKind::handshake, grace_until);
      }
      return;
    }
    if (!waits_for_a_request(connection)) {
      return;
    }
    if (connection.requests_started > 0 || connection.discard_body_bytes > 0) {
      _closer.abort(connection);
      return;
    }
    int64_t grace_until = _loop.now_ms + _loop.stop_grace_ms(_config.header_timeout_ms);
    if (connection.timer.kind != TimerKind::header || connection.timer.deadline_ms > grace_until) {
      _connections.set_timer(connection, TimerKind::header, grace_until);
    }
  });
}

}  // namespace ringhttpd
