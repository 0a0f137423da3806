#include "uring/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace ringhttpd::uring {
namespace {

void close_pipe(Pipe& pipe) {
  close(pipe.read_fd);
  close(pipe.write_fd);
  pipe.read_fd = pipe.write_fd = -1;
}

}  // namespace

PipePool::PipePool(uint32_t wanted_bytes, unsigned prefill) : _wanted_bytes(wanted_bytes) {
  std::vector<Pipe*> made;
  for (unsigned i = 0; i < prefill; ++i) {
    if (Pipe* pipe = acquire()) {
      made.push_back(pipe);
    }
  }
  for (Pipe* pipe : made) {
    release(pipe, true);
  }
}

PipePool::~PipePool() {
  for (auto& pipe : _all) {
    close_pipe(*pipe);
  }
}

Pipe* PipePool::acquire() {
  if (!_free.empty()) {
    Pipe* pipe = _free.back();
    _free.pop_back();
    return pipe;
  }
  int fds[2];
  // Non-blocking ends: a splice can never park an io-wq thread on the pipe.
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return nullptr;
  }
  auto pipe = std::make_unique<Pipe>();
  pipe->read_fd = fds[0];
  pipe->write_fd = fds[1];
  // Past the per-user pipe budget F_SETPIPE_SZ fails (EPERM); the pipe keeps
  // its default size and still works, only in smaller chunks.
  fcntl(pipe->write_fd, F_SETPIPE_SZ, static_cast<int>(_wanted_bytes));
  int capacity = fcntl(pipe->write_fd, F_GETPIPE_SZ);
  pipe->capacity_bytes = capacity > 0 ? static_cast<uint32_t>(capacity) : 4096;
  _all.push_back(std::move(pipe));
  return _all.back().get();
}

void PipePool::release(Pipe* pipe, bool empty) {
  if (empty) {
    _free.push_back(pipe);
    return;
  }
  close_pipe(*pipe);
  auto found = std::find_if(_all.begin(), _all.end(), [&](auto& owned) { return owned.get() == pipe; });
  _all.erase(found);
}

}  // namespace ringhttpd::uring
