#pragma once
// The access-log writer: this worker's log buffers (access_log.h), its
// descriptor of the log, and the chains of WRITEs that empty them. It
// also counts every response for /metrics and STATUS.

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

  void start() { _fd = _fd_slot.exchange(-1); }
  bool enabled() const { return _fd >= 0; }

  // One response is over (or cut short): counted, and logged.
  void record(const Connection& connection);
  void on_write(int result);
  // Seals what is due, writes it, reports drops.
  void on_tick();
  // At stop, once every response is over: everything buffered goes out.
  // True when nothing is left in flight.
  bool flush_for_stop();
  uint64_t dropped() const { return _log.dropped_entries(); }

 private:
  // full_chain: only once log_chain_buffers are sealed; everything: now.
  enum class Pump : uint8_t { full_chain, everything };
  void pump(Pump what);
  void report_drops(bool force);

  unsigned _worker;
  const Config& _config;
  const LoopState& _loop;
  OpQueue& _ops;
  RingFdCloser& _closer;
  std::atomic<int>& _fd_slot;
  WorkerStats& _stats;
  int _fd = -1;
  LogBuffers _log;
  ClfTimeCache _clf_time;
  uint64_t _drops_reported = 0;
  int64_t _report_due_ms = 0;
};

}  // namespace ringhttpd
