#pragma once
// What every room of a worker may read of its loop: the time of the batch
// of completions being handled, and whether the worker is stopping. Only
// the loop (worker.cc) writes it.

#include <time.h>

#include <atomic>
#include <cstdint>

namespace ringhttpd {

// Added to every worker's deadline clock. Always 0 in the server; the
// connection fuzzer (tests/fuzz/fuzz_connection.cc) moves it forward to
// make deadlines pass without waiting for them.
inline std::atomic<int64_t> deadline_clock_skew_ms{0};

struct LoopState {
  int64_t now_ms = 0;        // CLOCK_MONOTONIC_COARSE: deadlines and timers
  time_t now_seconds = 0;    // CLOCK_REALTIME_COARSE: Date, Expires, the log
  bool stopping = false;     // SIGTERM: finish what is owed, keep nothing alive
  int64_t stop_deadline_ms = 0;  // once accepting ended: responses under way are cut then

  // Once accepting has ended, how long a connection that has sent nothing
  // may still take to send its first request: not --shutdown-timeout, or a
  // silent client would hold the stop that long.
  static int64_t stop_grace_ms(int64_t header_timeout_ms) {
    constexpr int64_t most_ms = 1000;
    return header_timeout_ms < most_ms ? header_timeout_ms : most_ms;
  }

  // Coarse clocks cost no syscall; one reading serves a whole batch.
  void refresh_clock() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    now_ms = int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000 +
             deadline_clock_skew_ms.load(std::memory_order_relaxed);
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    now_seconds = now.tv_sec;
  }
};

}  // namespace ringhttpd
