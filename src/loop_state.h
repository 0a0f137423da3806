#pragma once
// What every room of a worker may read of its loop: the time of the batch
// of completions being handled, and whether the worker is stopping. Only
// the loop (worker.cc) writes it.

#include <time.h>

#include <cstdint>

namespace ringhttpd {

struct LoopState {
  int64_t now_ms = 0;        // CLOCK_MONOTONIC_COARSE: deadlines and timers
  time_t now_seconds = 0;    // CLOCK_REALTIME_COARSE: Date, Expires, the log
  bool stopping = false;     // SIGTERM: finish what is owed, take nothing new
  int64_t stop_deadline_ms = 0;

  // Coarse clocks cost no syscall; one reading serves a whole batch.
  void refresh_clock() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    now_ms = int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    now_seconds = now.tv_sec;
  }
};

}  // namespace ringhttpd
