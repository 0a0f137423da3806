#pragma once
// The memory of exchanges (exchange.h), in four pools: exchanges with
// their small input buffers, large input buffers for heads that outgrow
// them, response spaces, and batches of pipelined responses. Each hands out what it has, makes more on
// demand, and takes back what an exchange holds (a pipe, an open file,
// cache references too). What a peak made and the next tick did not need
// goes back to the allocator on the tick, so memory follows load down.

#include <cassert>
#include <cstdint>
#include <memory>
#include <vector>

#include "cache/file_cache.h"
#include "src/connection.h"
#include "src/exchange.h"
#include "src/response_batch.h"
#include "uring/pipe_pool.h"

namespace ringhttpd {

// Spare objects of one kind. The fewest spares seen between two trims were
// not needed at all meanwhile: trim() frees them, down to `keep`.
template <typename T>
class Spares {
 public:
  using Pointer = typename std::unique_ptr<T>::pointer;  // T*, or char* for char[]

  template <typename Make>
  Pointer take(Make&& make) {
    if (_free.empty()) {
      _free.push_back(make());
      ++_made;
    }
    Pointer item = _free.back().release();
    _free.pop_back();
    _low_water = std::min(_low_water, _free.size());
    return item;
  }
  void give(Pointer item) {
    assert(_free.size() < _made);
    _free.emplace_back(item);
  }
  size_t trim(size_t keep) {
    size_t unneeded = _low_water > keep ? _low_water - keep : 0;
    for (size_t i = 0; i < unneeded; ++i) {
      _free.pop_back();
    }
    _made -= unneeded;
    _low_water = _free.size();
    return unneeded;
  }
  size_t made() const { return _made; }
  size_t idle() const { return _free.size(); }

 private:
  std::vector<std::unique_ptr<T>> _free;
  size_t _made = 0;
  size_t _low_water = 0;
};

class ExchangePool {
 public:
  ExchangePool(uint32_t max_head_bytes, uint32_t scratch_bytes, uring::PipePool& pipes,
               FileCache& cache, FdCloser& closer)
      : _max_head_bytes(max_head_bytes),
        _scratch_bytes(scratch_bytes),
        _pipes(pipes),
        _cache(cache),
        _closer(closer) {}
  ExchangePool(const ExchangePool&) = delete;
  ExchangePool& operator=(const ExchangePool&) = delete;

  // An exchange, with its small input buffer, for `connection`, which
  // must hold none.
  Exchange& acquire(Connection& connection);
  // The head has filled the small buffer: its bytes move to a large one.
  void enlarge_input(Exchange& exchange);
  // Before a response is planned: the scratch area, plan and vectors.
  void take_response_space(Exchange& exchange);
  // The response is over: its space, pipe, file and cache references go
  // back; the request bytes (a pipelined next request) stay.
  void end_response(Exchange& exchange);
  // The connection's exchange goes back to the pool with all it holds.
  void release(Connection& connection);
  // A batch buffer (batch_capacity_bytes) for pipelined responses; given
  // back once the response carrying it is out, or with the exchange.
  void take_batch(Exchange& exchange);
  void give_back_batch(Exchange& exchange);
  // On the tick: what a peak left and the last interval did not use is
  // freed. Returns how many objects went.
  size_t trim();
  // (The allocator returns the pages to the kernel at once: main.cc.)

  size_t exchanges_made() const { return _exchanges.made(); }
  size_t large_inputs_made() const { return _large_inputs.made(); }
  size_t response_spaces_made() const { return _spaces.made(); }
  size_t batches_made() const { return _batches.made(); }

 private:
  uint32_t _max_head_bytes;
  uint32_t _scratch_bytes;
  uring::PipePool& _pipes;
  FileCache& _cache;
  FdCloser& _closer;
  Spares<Exchange> _exchanges;
  Spares<char[]> _large_inputs;
  Spares<ResponseSpace> _spaces;
  Spares<char[]> _batches;
};

}  // namespace ringhttpd
