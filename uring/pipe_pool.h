#pragma once
// Per-worker pool of pipes for splice(file -> pipe -> socket). A pipe is
// taken for the body of one response and returned empty. Pipes are not one
// per connection: an unprivileged user has 64 MiB of pipe buffers in all,
// after which new pipes shrink to one page (design.md).

#include <cstdint>
#include <memory>
#include <vector>

namespace ringhttpd::uring {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  uint32_t capacity_bytes = 0;  // what F_GETPIPE_SZ reports
};

class PipePool {
 public:
  explicit PipePool(uint32_t wanted_bytes, unsigned prefill = 0);
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // A pipe, or nullptr when no pipe can be created (EMFILE/ENFILE).
  Pipe* acquire();
  // `empty` says the pipe holds no bytes; a pipe that may hold some (an
  // aborted response) is closed rather than reused.
  void release(Pipe* pipe, bool empty);

  size_t created() const { return _all.size(); }
  size_t idle() const { return _free.size(); }

 private:
  uint32_t _wanted_bytes;
  std::vector<std::unique_ptr<Pipe>> _all;
  std::vector<Pipe*> _free;
};

}  // namespace ringhttpd::uring
