#pragma once
// What each worker publishes for the rest of the process (systemd STATUS,
// the watchdog, /metrics): relaxed atomics the worker alone writes, one
// cache line apart so workers never contend. Per-response counters move as
// responses finish; the others are copied on each tick.

#include <atomic>
#include <cstdint>

#include "src/tls/session.h"

namespace ringhttpd {

struct alignas(64) WorkerStats {
  std::atomic<uint64_t> requests{0};       // responses finished or cut
  std::atomic<uint64_t> responses_by_class[5] = {};  // 1xx .. 5xx
  std::atomic<uint64_t> body_bytes{0};     // response body bytes sent
  std::atomic<int64_t> heartbeat_ms{0};    // CLOCK_MONOTONIC of its last tick
  // Copied on each tick:
  std::atomic<uint32_t> connections{0};    // open now
  std::atomic<uint32_t> idle_connections{0};  // in keep-alive, waiting
  std::atomic<uint64_t> clobbered{0};      // closed to admit a new connection
  std::atomic<uint64_t> refused{0};        // turned away when full
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> cache_misses{0};
  std::atomic<uint64_t> cache_negative_hits{0};
  std::atomic<uint64_t> cache_evictions{0};
  std::atomic<uint64_t> cache_revalidations{0};
  std::atomic<uint64_t> cache_expired{0};
  std::atomic<uint64_t> cache_open_files{0};
  std::atomic<uint64_t> cache_body_bytes{0};
  std::atomic<uint64_t> log_dropped{0};
  std::atomic<uint32_t> pipes_open{0};     // in the splice pipe pool, lent or idle
  std::atomic<uint32_t> pipe_waiters{0};   // responses waiting for a pipe
  std::atomic<uint64_t> pipe_waits{0};     // times a response had to wait for one
  std::atomic<uint64_t> responses_batched{0};  // sent within a later response's send
  // TLS, as handshakes end:
  std::atomic<uint64_t> tls_handshakes{0};        // completed
  std::atomic<uint64_t> tls_resumed{0};           // of those, resumed from a ticket
  std::atomic<uint64_t> tls_kernel_records{0};    // of those, records handed to the kernel
  std::atomic<uint64_t> tls_failures[static_cast<size_t>(tls::Failure::count)] = {};
  std::atomic<uint32_t> tls_kernel_available{0};  // 1: the worker hands records to the kernel
};

}  // namespace ringhttpd
