#pragma once
// The access-log writer: this worker's log buffers (access_log.h), its
// descriptor of the log, and the chains of WRITEs that empty them. It
// also counts every response for /metrics and STATUS.

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstdint>

#include "cache/http_date.h"
#include "conf/config.h"
#include "src/access_log.h"
#include "src/connection.h"
#include "src/fd_closer.h"
#include "src/loop_state.h"
#include "src/op.h"
#include "src/worker_stats.h"

namespace ringhttpd {

class AccessLogWriter {
 public:
  // fd_slot: where the server hands this worker its own descriptor of the
  // log, at start and after each reopen (SIGUSR1, SIGHUP); -1 when taken.
  AccessLogWriter(unsigned worker, const Config& config, const LoopState& loop, OpQueue& ops,
                  RingFdCloser& closer, std::atomic<int>& fd_slot, WorkerStats& stats);
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  void start() { adopt(_fd_slot.exchange(-1)); }
  bool enabled() const { return _fd >= 0; }

  // One response is over (or cut short): counted, and logged.
  void record(const Connection& connection);
  void on_write(int result);
  void on_writev(int result);
  // Seals what is due, writes it, reports drops.
  void on_tick();
  // At stop, once every response is over: everything buffered goes out.
  // True when nothing is left in flight.
  bool flush_for_stop();
  uint64_t dropped() const { return _log.dropped_entries(); }
  // A quarter of the buffers or more are free: room for a batch of
  // pipelined responses' entries (response_batch.h) without dropping any.
  // Batching waits while the log is behind, so it never outruns the log:
  // unbatched, each response takes its own trip through the loop, and the
  // log's writes complete meanwhile.
  bool has_room_for_a_batch() const { return !enabled() || _log.free_buffers() >= log_buffer_count / 4; }

 private:
  // full_chain: only once log_chain_buffers are sealed; everything: now.
  enum class Pump : uint8_t { full_chain, everything };
  void pump(Pump what);
  void adopt(int fd);
  void report_drops(bool force);

  unsigned _worker;
  const Config& _config;
  const LoopState& _loop;
  OpQueue& _ops;
  RingFdCloser& _closer;
  std::atomic<int>& _fd_slot;
  WorkerStats& _stats;
  int _fd = -1;
  // A regular file takes every sealed buffer in one WRITEV: O_APPEND writes
  // of a file never interleave, whatever their size. A pipe or FIFO takes
  // one WRITE of at most PIPE_BUF per buffer, the most it keeps whole.
  bool _fd_is_file = false;
  std::array<iovec, log_buffer_count> _vectors{};
  size_t _vector_count = 0;  // in the WRITEV in flight
  LogBuffers _log;
  ClfTimeCache _clf_time;
  uint64_t _drops_reported = 0;
  int64_t _report_due_ms = 0;
};

}  // namespace ringhttpd
