#pragma once
// How many splice pipes each worker may hold. Pipes cost in two budgets:
// pipe pages (an unprivileged user has /proc/sys/fs/pipe-user-pages-soft,
// 64 MiB by default, past which new pipes get one page each, so every
// page of a body costs a ring trip; uring/KERNEL.md, "Pipe budget") and
// descriptors (two per pipe, out of RLIMIT_NOFILE, which connections and
// the cache also draw on). Pools are bounded by both, whatever the
// concurrency; a response waits for a pipe rather than taking one more.

#include <cstdint>

namespace ringhttpd {

// The per-user pipe budget in bytes; 0 when it is unlimited.
uint64_t pipe_user_budget_bytes();

struct PipeBudgetInputs {
  uint64_t budget_bytes = 0;   // pipe_user_budget_bytes(); 0 = unlimited
  uint64_t descriptors = 0;    // RLIMIT_NOFILE
  unsigned workers = 1;
  uint32_t pipe_bytes = 0;     // --pipe-size
};

inline constexpr unsigned most_pipes_per_worker = 128;
inline constexpr unsigned fewest_pipes_per_worker = 4;

// Three quarters of the pipe budget (the rest is for enlarged pipes) and an
// eighth of the descriptors, shared by the workers, within
// [fewest_pipes_per_worker, most_pipes_per_worker].
unsigned pipes_per_worker(const PipeBudgetInputs& inputs);

// Large bodies borrow a pipe enlarged to this (pipe-max-size's default):
// each pipe-sized chunk is a ring trip, so fewer, larger chunks cost less.
inline constexpr uint32_t grown_pipe_bytes = 1u << 20;
inline constexpr unsigned most_grown_pipes_per_worker = 64;  // also when the budget is unlimited

// Enlarged pipes a worker may hold at once: the last quarter of the pipe
// budget, shared by the workers; none when pipes are that large already.
unsigned grown_pipes_per_worker(const PipeBudgetInputs& inputs);

}  // namespace ringhttpd
