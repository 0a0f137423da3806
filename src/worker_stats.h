#pragma once
// What each worker publishes for the rest of the process (systemd STATUS,
// the watchdog, metrics): relaxed atomics the worker alone writes, one cache
// line per worker so workers never contend.

#include <atomic>
#include <cstdint>

namespace ringhttpd {

struct alignas(64) WorkerStats {
  std::atomic<uint64_t> requests{0};       // responses finished or cut
  std::atomic<uint32_t> connections{0};    // open now
  std::atomic<int64_t> heartbeat_ms{0};    // CLOCK_MONOTONIC of its last tick
};

}  // namespace ringhttpd
