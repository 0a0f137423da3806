#include "uring/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>

namespace ringhttpd::uring {
namespace {

void close_pipe(Pipe& pipe) {
  close(pipe.read_fd);
  close(pipe.write_fd);
  pipe.read_fd = pipe.write_fd = -1;
}

uint32_t capacity_of(const Pipe& pipe) {
  int capacity = fcntl(pipe.write_fd, F_GETPIPE_SZ);
  return capacity > 0 ? static_cast<uint32_t>(capacity) : 4096;
}

}  // namespace

PipePool::PipePool(uint32_t wanted_bytes, unsigned prefill, PipeGrowth growth, unsigned most)
    : _wanted_bytes(wanted_bytes), _growth(growth), _most(std::max(most, 1u)) {
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

Pipe* PipePool::acquire(uint64_t body_bytes) {
  Pipe* pipe = nullptr;
  if (!_free.empty()) {
    pipe = _free.back();  // the most recently used: its pages are warm
    _free.pop_back();
    _fewest_free = std::min(_fewest_free, _free.size());
  } else if (_all.size() < _most) {
    pipe = create();
  }
  if (pipe != nullptr && body_bytes > _growth.min_body && _grown < _growth.max_grown &&
      _growth.bytes > pipe->capacity_bytes) {
    grow(*pipe);
  }
  return pipe;
}

Pipe* PipePool::create() {
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
  pipe->capacity_bytes = capacity_of(*pipe);
  _all.push_back(std::move(pipe));
  return _all.back().get();
}

// Past the budget F_SETPIPE_SZ fails (EPERM) and the pipe keeps its size.
void PipePool::grow(Pipe& pipe) {
  if (fcntl(pipe.write_fd, F_SETPIPE_SZ, static_cast<int>(_growth.bytes)) > 0) {
    pipe.capacity_bytes = capacity_of(pipe);
    pipe.grown = true;
    ++_grown;
  }
}

// An empty pipe always shrinks; the pages go back to the user's budget.
void PipePool::shrink(Pipe& pipe) {
  fcntl(pipe.write_fd, F_SETPIPE_SZ, static_cast<int>(_wanted_bytes));
  pipe.capacity_bytes = capacity_of(pipe);
  pipe.grown = false;
  assert(_grown > 0);
  --_grown;
}

void PipePool::release(Pipe* pipe, bool empty) {
  assert(_free.size() < _all.size());
  if (empty) {
    if (pipe->grown) {
      shrink(*pipe);
    }
    _free.push_back(pipe);
    return;
  }
  if (pipe->grown) {
    pipe->grown = false;
    assert(_grown > 0);
    --_grown;
  }
  destroy(pipe);
}

void PipePool::trim(size_t keep) {
  size_t surplus = _fewest_free > keep ? _fewest_free - keep : 0;
  // The front of the free list is the least recently used.
  for (size_t i = 0; i < surplus; ++i) {
    destroy(_free[i]);
  }
  _free.erase(_free.begin(), _free.begin() + static_cast<std::ptrdiff_t>(surplus));
  _fewest_free = _free.size();
}

void PipePool::destroy(Pipe* pipe) {
  close_pipe(*pipe);
  auto found = std::find_if(_all.begin(), _all.end(), [&](auto& owned) { return owned.get() == pipe; });
  assert(found != _all.end());
  _all.erase(found);
}

}  // namespace ringhttpd::uring
