#pragma once
// Exchanges with their buffers in one block each, handed out when a
// connection has bytes to parse and taken back, with whatever they still
// hold (a pipe, an open file, cache references), when it goes idle or
// closes. Grows on demand and keeps what it made, so the steady state
// allocates nothing.

#include <cassert>
#include <cstdint>
#include <memory>
#include <vector>

#include "cache/file_cache.h"
#include "src/connection.h"
#include "src/exchange.h"
#include "uring/pipe_pool.h"

namespace ringhttpd {

class ExchangePool {
 public:
  ExchangePool(uint32_t in_capacity, uint32_t scratch_capacity, uring::PipePool& pipes,
               FileCache& cache, FdCloser& closer)
      : _in_capacity(in_capacity),
        _scratch_capacity(scratch_capacity),
        _pipes(pipes),
        _cache(cache),
        _closer(closer) {}
  ExchangePool(const ExchangePool&) = delete;
  ExchangePool& operator=(const ExchangePool&) = delete;

  // An exchange for `connection`, which must hold none.
  Exchange& acquire(Connection& connection);
  // The response is over: its pipe, file and cache references go back; the
  // request bytes (a pipelined next request) stay.
  void end_response(Exchange& exchange);
  // The connection's exchange goes back to the pool with all it holds.
  void release(Connection& connection);

  size_t made() const { return _blocks.size(); }
  size_t idle() const { return _free.size(); }

 private:
  struct Block {
    Exchange exchange;
    std::unique_ptr<char[]> bytes;
  };
  uint32_t _in_capacity;
  uint32_t _scratch_capacity;
  uring::PipePool& _pipes;
  FileCache& _cache;
  FdCloser& _closer;
  std::vector<std::unique_ptr<Block>> _blocks;
  std::vector<Exchange*> _free;
};

}  // namespace ringhttpd
