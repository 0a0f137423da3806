#pragma once
// One worker: one thread, one ring, its own listeners, connections, pipes
// and buffers. Nothing on the request path is shared with other workers.
//
// The loop (worker.cc) submits and waits, then handles each completion by
// kind; handlers only queue new operations. Request handling (parse, resolve,
// respond) is in worker_request.cc; the send chain and the close path are in
// worker_send.cc.

#include <liburing.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "cache/file_cache.h"
#include "cache/http_date.h"
#include "conf/config.h"
#include "conf/mime_types.h"
#include "conf/vhost_table.h"
#include "src/access_log.h"
#include "src/connection.h"
#include "cache/http_date.h"
#include "src/http/range.h"
#include "src/http/request.h"
#include "src/http/response.h"
#include "src/timer_list.h"
#include "src/worker_stats.h"
#include "uring/buffer_ring.h"
#include "uring/pipe_pool.h"
#include "uring/ring.h"
#include "uring/user_data.h"

namespace ringhttpd {

// Read-only after start-up, shared by all workers.
struct WorkerContext {
  const Config* config = nullptr;
  const MimeTypes* mime_types = nullptr;
  int root_fd = -1;        // O_PATH directory fd every open is relative to
  int stop_event_fd = -1;  // becomes readable when the server stops
  const VhostTable* vhosts = nullptr;  // --vhosts: the host directories
  const std::atomic<uint64_t>* cache_generation = nullptr;  // bumped by SIGHUP
  const WorkerStats* all_stats = nullptr;  // every worker's, for /metrics
};

// Completion kinds. The switch in Worker::dispatch has no default, so a kind
// added here without a handler fails to compile (-Wswitch).
enum class Op : uint8_t {
  accept,        // multishot accept on listener `slot`
  tick,          // periodic timeout: deadlines, accept back-off, stop deadline
  stop,          // poll on the stop eventfd
  cancel_accept, // cancel of an accept at stop
  close_file,    // detached close of a file descriptor
  recv,
  send,
  splice_in,     // file -> pipe
  splice_out,    // pipe -> socket
  poll_out,      // wait for socket writability before a splice out
  open,          // OPENAT2 under the docroot
  statx,         // STATX of a file just opened
  revalidate,    // STATX by path of a stale cached file
  read_body,     // READ of a small file into its cache entry
  shutdown,      // SHUT_WR before lingering
  cancel,        // cancel of a connection's queued operations
  close_socket,
  log_write,     // WRITE of a sealed access log buffer
};

class Worker final : private FdCloser {
 public:
  // log_fd_slot: where the server hands this worker its own descriptor of
  // the access log, at start and after each reopen (SIGUSR1); -1 when taken.
  Worker(unsigned index, const WorkerContext& context, std::vector<int> listeners,
         std::atomic<int>& log_fd_slot, WorkerStats& stats);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves until the stop eventfd fires and every connection has closed (or
  // the shutdown timeout ran out).
  void run();

 private:
  // worker.cc: loop, dispatch, slots, timers, accept, tick, stop.
  void dispatch(const io_uring_cqe* cqe);
  void dispatch_connection(Connection& connection, Op op, const io_uring_cqe* cqe);
  void refresh_clock();
  io_uring_sqe* queue(Connection& connection, Op op);
  io_uring_sqe* queue_detached(Op op, uint32_t slot = no_slot);
  void arm_accept(uint32_t listener);
  void arm_tick();
  void on_accept(uint32_t listener, const io_uring_cqe* cqe);
  void on_tick();
  void on_stop();
  void admit(int fd);
  Connection* allocate_slot();
  bool clobber_longest_idle();
  Connection& slot(uint32_t index) { return _slot_chunks[index >> chunk_shift][index & chunk_mask]; }
  void release_slot(Connection& connection);
  void timer_set(Connection& connection, TimerKind kind, int64_t deadline_ms);
  void timer_clear(Connection& connection);
  void expire_timers();

  // worker_request.cc: input, parsing, resolving the file, choosing the response.
  void arm_recv(Connection& connection);
  void on_recv(Connection& connection, int result, const char* pool_bytes);
  void process_input(Connection& connection, bool after_response);
  void start_request(Connection& connection);
  void try_next_index(Connection& connection);
  void queue_open(Connection& connection, const char* relative_path);
  void on_open(Connection& connection, int result);
  void on_statx(Connection& connection, int result);
  void queue_statx_of_open_file(Connection& connection);
  void remember_sibling(Connection& connection, int result);
  std::string_view host_directory_for(const Request& request, char* buffer);
  void refresh_hosts();
  void lookup_cache(Connection& connection);
  void resolve_from_disk(Connection& connection);
  void on_revalidate(Connection& connection, int result);
  void remember_answer(Connection& connection, EntryKind kind, uint16_t status);
  void remember_file(Connection& connection);
  void on_read_body(Connection& connection, int result);
  void serve_entry(Connection& connection);
  std::string_view cache_key(const Exchange& exchange) const;
  void respond_status(Connection& connection, uint16_t status);
  void respond_redirect_to_directory(Connection& connection);
  CommonFields common_fields(const Exchange& exchange);
  bool serve_endpoint(Connection& connection);
  void respond_generated(Connection& connection, uint16_t status, std::string_view content_type,
                         bool metrics);
  void publish_stats();

  // worker_send.cc: the send chain and the close path.
  void respond_with_file(Connection& connection);
  bool choose_coding(Connection& connection);
  void sibling_resolved(Connection& connection, CacheEntry* sibling);
  static CacheEntry& served_entry(Exchange& exchange) {
    return exchange.sibling != nullptr ? *exchange.sibling : *exchange.entry;
  }
  FileHead file_head(Exchange& exchange, uint16_t status, uint64_t content_length,
                     char (&expires)[http_date_bytes]);
  bool plan_ranges(Connection& connection, const RangeSet& ranges);
  void send_planned(Connection& connection);
  void queue_next_piece(Connection& connection);
  void send_head_only(Connection& connection, const HeaderWriter& head);
  bool head_fits(Connection& connection, const HeaderWriter& head);
  void queue_splice_chunk(Connection& connection);
  void queue_pipe_flush(Connection& connection);
  void on_chain_completion(Connection& connection, Op op, int result);
  void advance_response(Connection& connection);
  void finish_exchange(Connection& connection);
  void release_exchange(Connection& connection);
  void release_entries(Exchange& exchange);
  void close_file(int& fd);
  void close_fd(int fd) override;  // FdCloser: the cache closes through the ring
  bool client_closes_cleanly(const Connection& connection) const;
  int fin_follows_flag(const Connection& connection) const;
  void begin_close(Connection& connection);
  void on_shutdown(Connection& connection, int result);

  // Access log (worker.cc).
  void log_exchange(const Connection& connection);
  // full_chain: only once log_chain_buffers are sealed; everything: now.
  enum class LogPump : uint8_t { full_chain, everything };
  void pump_log(LogPump what);
  void on_log_write(int result);
  void report_log_drops(bool force);
  void abort(Connection& connection);
  void queue_close(Connection& connection);

  static constexpr uint32_t chunk_shift = 10;
  static constexpr uint32_t chunk_mask = (1u << chunk_shift) - 1;

  unsigned _index;
  const WorkerContext& _context;
  const Config& _config;
  ParseLimits _limits;
  uring::Ring _ring;
  uring::BufferRing _recv_buffers;
  uring::PipePool _pipes;
  ExchangePool _exchanges;
  FileCache _cache;  // after _ring: destroyed first, while the ring can still close
  std::vector<int> _listeners;
  std::vector<bool> _accept_armed;
  bool _accept_backoff = false;

  std::vector<std::unique_ptr<Connection[]>> _slot_chunks;
  std::vector<uint32_t> _free_slots;
  uint32_t _slots_made = 0;
  uint32_t _live_connections = 0;
  uint32_t _clobbering = 0;          // clobbered connections not yet closed
  uint64_t _clobbered_total = 0;
  uint64_t _refused_total = 0;
  bool _refusal_logged = false;      // once per tick
  uint64_t _cache_generation = 0;    // SIGHUP flushes the cache
  std::array<TimerList, static_cast<size_t>(TimerKind::count)> _timers{};
  std::array<uint32_t, static_cast<size_t>(TimerKind::count)> _timer_lengths{};

  uint64_t _random_state = 0;  // xorshift: multipart boundaries
  HostSet _hosts;              // --vhosts: this worker's copy of the table
  uint64_t _hosts_version = UINT64_MAX;
  DateCache _date;
  time_t _now_seconds = 0;
  int64_t _now_ms = 0;
  __kernel_timespec _tick_interval{};
  std::atomic<int>& _log_fd_slot;
  WorkerStats& _stats;
  int _log_fd = -1;
  LogBuffers _log;
  ClfTimeCache _clf_time;
  uint64_t _log_drops_reported = 0;
  int64_t _log_report_due_ms = 0;
  bool _stopping = false;
  bool _loop_running = false;  // queued CLOSEs are submitted only while it runs
  int64_t _stop_deadline_ms = 0;
};

}  // namespace ringhttpd
