#include "src/exchange_pool.h"

namespace ringhttpd {

Exchange& ExchangePool::acquire(Connection& connection) {
  assert(connection.exchange == nullptr);
  if (_free.empty()) {
    auto block = std::make_unique<Block>();
    block->bytes = std::make_unique<char[]>(size_t{_in_capacity} + _scratch_capacity);
    block->exchange.in = block->bytes.get();
    block->exchange.in_capacity = _in_capacity;
    block->exchange.scratch = block->bytes.get() + _in_capacity;
    block->exchange.scratch_capacity = _scratch_capacity;
    _free.push_back(&block->exchange);
    _blocks.push_back(std::move(block));
  }
  Exchange* exchange = _free.back();
  _free.pop_back();
  exchange->in_start = exchange->in_end = 0;
  exchange->reset_for_next_request();
  connection.exchange = exchange;
  return *exchange;
}

void ExchangePool::end_response(Exchange& exchange) {
  if (exchange.send.pipe != nullptr) {
    // A pipe that may still hold bytes (a response cut short) is closed,
    // not reused: the next response would send them.
    _pipes.release(exchange.send.pipe, exchange.send.pipe_bytes == 0);
    exchange.send.pipe = nullptr;
  }
  if (exchange.resolve.file_fd >= 0) {
    _closer.close_fd(exchange.resolve.file_fd);
    exchange.resolve.file_fd = -1;
  }
  for (CacheEntry** held : {&exchange.entry, &exchange.sibling}) {
    if (*held != nullptr) {
      _cache.release(*held);
      *held = nullptr;
    }
  }
}

void ExchangePool::release(Connection& connection) {
  Exchange* exchange = connection.exchange;
  if (exchange == nullptr) {
    return;
  }
  end_response(*exchange);
  assert(_free.size() < _blocks.size());
  _free.push_back(exchange);
  connection.exchange = nullptr;
}

}  // namespace ringhttpd
