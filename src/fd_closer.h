#pragma once
// Who closes a file descriptor the server opened (a cached file, a file
// opened for one response, an old access log): the cache decides when (its
// last reference gone, cache/file_cache.h); this closes it through the ring
// as a detached CLOSE, so the loop never blocks in close(2) on a file whose
// last close must release its blocks. At start-up and tear-down, when no
// loop submits, it closes at once.

#include <unistd.h>

#include "cache/file_cache.h"
#include "src/op.h"

namespace ringhttpd {

class RingFdCloser final : public FdCloser {
 public:
  explicit RingFdCloser(OpQueue& ops) : _ops(ops) {}

  void close_fd(int fd) override {
    if (_loop_running) {
      io_uring_prep_close(_ops.queue_detached(Op::close_file), fd);
    } else {
      close(fd);  // nothing would submit a queued CLOSE
    }
  }
  // Closes `fd` if open, and forgets it.
  void close_and_forget(int& fd) {
    if (fd >= 0) {
      close_fd(fd);
      fd = -1;
    }
  }
  void set_loop_running(bool running) { _loop_running = running; }

 private:
  OpQueue& _ops;
  bool _loop_running = false;
};

}  // namespace ringhttpd
