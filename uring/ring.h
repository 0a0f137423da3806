#pragma once
// RAII io_uring for one thread: SINGLE_ISSUER | DEFER_TASKRUN when the kernel
// has them (else COOP_TASKRUN), a large CQ, an opcode probe at start-up, and
// the one place that decides what happens when the SQ is full.

#include <liburing.h>

#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>

namespace ringhttpd::uring {

// io_uring cannot be used here; what() is one line saying why and what to fix.
struct RingUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RingOptions {
  unsigned sq_entries = 1024;
  unsigned cq_entries = 16384;  // completions can outnumber submissions (multishot)
};

class Ring {
 public:
  explicit Ring(const RingOptions& options = {});
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Throws RingUnavailable naming the first missing opcode.
  void require_opcodes(std::span<const int> opcodes) const;
  void require_opcodes(std::initializer_list<int> opcodes) const {
    require_opcodes(std::span<const int>(opcodes.begin(), opcodes.size()));
  }

  // A free SQE; when the SQ is full it submits what is queued first, so this
  // never fails while the kernel accepts submissions (and backs off while
  // it does not).
  io_uring_sqe* get_sqe();
  // Makes room for a linked chain of `count` SQEs so it is never split
  // across two submissions half-filled.
  void reserve(unsigned count);

  // Submits queued SQEs and waits for at least one completion. With
  // DEFER_TASKRUN this is the only place completions make progress, so the
  // caller keeps a timeout queued (its tick) to bound the wait.
  int submit_and_wait() { return io_uring_submit_and_wait(&_ring, 1); }
  int submit() { return io_uring_submit(&_ring); }

  // io_uring_enter failed for the ring as a whole (EAGAIN or ENOMEM: the
  // kernel had no memory for requests; EBUSY: completions overflowed and
  // could not be flushed) and nothing came of it. Retrying at once would
  // fail at once, and the worker would spin: this sleeps, 1 ms doubling to
  // 100 ms while failures go on (uring/KERNEL.md, "io_uring_enter can fail").
  void back_off();
  void succeeded() { _backoff_us = 0; }

  // Calls fn(cqe) for every ready completion, then advances the CQ once.
  template <typename Fn>
  unsigned drain_completions(Fn&& fn) {
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&_ring, head, cqe) {
      fn(cqe);
      ++count;
    }
    io_uring_cq_advance(&_ring, count);
    return count;
  }

  io_uring* raw() { return &_ring; }
  unsigned setup_flags() const { return _ring.flags; }
  bool defer_taskrun() const { return (_ring.flags & IORING_SETUP_DEFER_TASKRUN) != 0; }

 private:
  io_uring _ring{};
  long _backoff_us = 0;
};

// One line explaining why io_uring_setup failed with -error.
std::string explain_setup_error(int error);
const char* opcode_name(int opcode);

}  // namespace ringhttpd::uring
