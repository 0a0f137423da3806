#pragma once
// One worker: one thread, one ring, its own listeners, connections, pipes
// and buffers. Nothing on the request path is shared with other workers.
//
// This is the loop: it owns the ring and the rooms, submits and waits,
// and hands each completion to exactly one room's on_* in one switch;
// handlers only queue new operations. What follows what in an exchange
// is the flow's (exchange_flow.h). The tick expires deadlines, flushes the
// log, resumes accepting and enforces the stop deadline.

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "cache/file_cache.h"
#include "conf/config.h"
#include "conf/mime_types.h"
#include "conf/vhost_table.h"
#include "src/acceptor.h"
#include "src/access_log_writer.h"
#include "src/closer.h"
#include "src/connection_table.h"
#include "src/docroot.h"
#include "src/exchange_flow.h"
#include "src/exchange_pool.h"
#include "src/fd_closer.h"
#include "src/handshaker.h"
#include "src/input.h"
#include "src/loop_state.h"
#include "src/op.h"
#include "src/resolver.h"
#include "src/router.h"
#include "src/sender.h"
#include "src/splice_transport.h"
#include "src/tls_buffers.h"
#include "src/tls_contexts.h"
#include "src/tls_sender.h"
#include "src/worker_stats.h"
#include "uring/buffer_ring.h"
#include "uring/pipe_pool.h"
#include "uring/ring.h"

namespace ringhttpd {

// Read-only after start-up, shared by all workers.
struct WorkerContext {
  const Config* config = nullptr;
  const MimeTypes* mime_types = nullptr;
  const DocrootSource* docroot = nullptr;  // the directory every open is relative to
  int stop_event_fd = -1;  // becomes readable when the server stops
  const VhostTable* vhosts = nullptr;  // --vhosts: the host directories
  const std::atomic<uint64_t>* cache_generation = nullptr;  // bumped by SIGHUP
  const WorkerStats* all_stats = nullptr;  // every worker's, for /metrics
  bool listeners_inherited = false;  // socket activation: shared, not this worker's to close
  std::vector<bool> listener_tls;    // [address]: its connections speak TLS
  const TlsContexts* tls = nullptr;  // null when no listener speaks TLS
};

class Worker {
 public:
  // log_fd_slot: where the server hands this worker its own descriptor of
  // the access log, at start and after each reopen (SIGUSR1); -1 when taken.
  Worker(unsigned index, const WorkerContext& context, std::vector<int> listeners,
         std::atomic<int>& log_fd_slot, WorkerStats& stats);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves until the stop eventfd fires and every connection has closed (or
  // the shutdown timeout ran out).
  void run();

 private:
  void dispatch(const io_uring_cqe& cqe);
  void arm_tick();
  void on_tick();
  void on_stop();
  void end_drain();
  void publish_stats();
  void refresh_tls();

  unsigned _index;
  const WorkerContext& _context;
  const Config& _config;
  WorkerStats& _stats;
  LoopState _loop;
  __kernel_timespec _tick_interval{};
  int64_t _drain_until_ms = 0;  // --drain-time: accepting goes on until then
  uint64_t _cache_generation = 0;  // SIGHUP flushes the cache
  WorkerDocroot _docroot;
  WorkerTls _tls;                  // what new TLS connections start from
  uint64_t _tls_version = 0;       // of the contexts in _tls

  // Construction order is dependency order; the cache is destroyed before
  // the ring it closes through.
  uring::Ring _ring;
  OpQueue _ops;
  RingFdCloser _fd_closer;
  uring::BufferRing _recv_buffers;
  uring::PipePool _pipes;
  FileCache _cache;
  ExchangePool _exchanges;
  ConnectionTable _connections;
  AccessLogWriter _log;
  Closer _closer;
  TlsBuffers _tls_buffers;
  Handshaker _handshaker;
  Input _input;
  Router _router;
  Resolver _resolver;
  SpliceTransport _transport;
  Sender _sender;
  TlsSender _tls_sender;
  ExchangeFlow _flow;
  Acceptor _acceptor;
};

}  // namespace ringhttpd
