#pragma once
// Per-worker pool of pipes for splice(file -> pipe -> socket). A pipe is
// borrowed for one chain (one chunk of a body) and returned as soon as it
// is empty, so pipes circulate between responses instead of each response
// holding one. The pool is bounded (`most` pipes: conf/pipe_budget.h says
// why and how many); at the bound acquire() says no and the response
// waits its turn. Pipes that stayed idle through a whole trim interval
// are closed (trim()), so a peak gives its pipes back.

#include <cstdint>
#include <memory>
#include <vector>

namespace ringhttpd::uring {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  uint32_t capacity_bytes = 0;  // what F_GETPIPE_SZ reports
  bool grown = false;           // enlarged for one large body; shrunk on release
};

// Large bodies borrow a bigger pipe: each pipe-sized chunk is a SPLICE in,
// a SPLICE out and a trip through the loop, and with few large responses in
// flight those trips are the cost. Borrowing a 1 MiB pipe (the default
// 256 KiB otherwise) took server CPU from 13.6 to 10.9 ms per 64 MiB
// response and from 2.86 to 2.42 ms per 8 MiB one, 4 connections each
// (bench/RESULTS.md), and from 143 to 113 us per 1 MiB one (16 connections;
// an earlier run, with a pipe per response, had found no gain there).
// The growth is bounded (a share of the per-user pipe budget) and undone
// on release, so the budget is never spent on idle pipes.
struct PipeGrowth {
  uint32_t bytes = 0;      // the enlarged size; 0 (or not above the base) turns growth off
  uint64_t min_body = 0;   // bodies larger than this get an enlarged pipe
  unsigned max_grown = 0;  // enlarged pipes at once
};

class PipePool {
 public:
  explicit PipePool(uint32_t wanted_bytes, unsigned prefill = 0, PipeGrowth growth = {},
                    unsigned most = 256);
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // A pipe for a body of `body_bytes`, enlarged when the body is large and
  // the growth allowance has room; nullptr at the bound, or when no pipe can
  // be created (EMFILE/ENFILE: errno says which).
  Pipe* acquire(uint64_t body_bytes = 0);
  // acquire() would give a pipe without creating one past the bound.
  bool available() const { return !_free.empty() || _all.size() < _most; }
  // `empty` says the pipe holds no bytes; a pipe that may hold some (an
  // aborted response) is closed rather than reused.
  void release(Pipe* pipe, bool empty);

  // Closes the pipes idle since the last trim (the fewest that were free
  // at any moment in between), keeping `keep` idle ones for the next burst.
  void trim(size_t keep);

  size_t created() const { return _all.size(); }
  size_t idle() const { return _free.size(); }
  size_t in_use() const { return _all.size() - _free.size(); }
  unsigned grown() const { return _grown; }
  unsigned most() const { return _most; }

 private:
  Pipe* create();
  void grow(Pipe& pipe);
  void shrink(Pipe& pipe);

  void destroy(Pipe* pipe);

  uint32_t _wanted_bytes;
  PipeGrowth _growth;
  unsigned _most;
  unsigned _grown = 0;
  size_t _fewest_free = 0;  // since the last trim
  std::vector<std::unique_ptr<Pipe>> _all;
  std::vector<Pipe*> _free;
};

}  // namespace ringhttpd::uring
