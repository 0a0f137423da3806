#include "src/exchange_pool.h"

#include <cstring>

namespace ringhttpd {
namespace {

// What a trim keeps of each kind, so a burst after a quiet spell starts warm.
constexpr size_t spare_exchanges_kept = 16;
constexpr size_t spare_large_inputs_kept = 2;
constexpr size_t spare_response_spaces_kept = 16;
constexpr size_t spare_batches_kept = 2;

}  // namespace

Exchange& ExchangePool::acquire(Connection& connection) {
  assert(connection.exchange == nullptr);
  // Not zero-filled: a page of a buffer no request reached is never touched.
  Exchange& exchange = *_exchanges.take([] { return std::make_unique_for_overwrite<Exchange>(); });
  exchange.reset_for_next_request();
  exchange.in = exchange.small_input;
  exchange.in_capacity = std::min(small_input_bytes, _max_head_bytes);
  exchange.in_start = exchange.in_end = 0;
  exchange.large_input = false;
  exchange.batch = nullptr;  // not zero-filled: set before use
  exchange.batch_length = 0;
  exchange.batch_responses = 0;
  assert(exchange.space == nullptr);
  connection.exchange = &exchange;
  return exchange;
}

void ExchangePool::enlarge_input(Exchange& exchange) {
  assert(!exchange.large_input && exchange.in_start == 0);
  uint32_t size = _max_head_bytes;
  char* large = _large_inputs.take([size] { return std::make_unique_for_overwrite<char[]>(size); });
  std::memcpy(large, exchange.in, exchange.in_end);
  exchange.in = large;
  exchange.in_capacity = _max_head_bytes;
  exchange.large_input = true;
}

void ExchangePool::take_response_space(Exchange& exchange) {
  if (exchange.space != nullptr) {
    return;
  }
  uint32_t size = _scratch_bytes;
  exchange.space = _spaces.take([size] {
    auto made = std::make_unique<ResponseSpace>();
    made->scratch = std::make_unique_for_overwrite<char[]>(size);
    made->scratch_capacity = size;
    return made;
  });
  exchange.scratch = exchange.space->scratch.get();
  exchange.scratch_capacity = exchange.space->scratch_capacity;
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
  if (exchange.space != nullptr) {
    _spaces.give(exchange.space);
    exchange.space = nullptr;
    exchange.scratch = nullptr;
    exchange.scratch_capacity = 0;
  }
}

void ExchangePool::release(Connection& connection) {
  Exchange* exchange = connection.exchange;
  if (exchange == nullptr) {
    return;
  }
  end_response(*exchange);
  give_back_batch(*exchange);
  if (exchange->large_input) {
    _large_inputs.give(exchange->in);
  }
  _exchanges.give(exchange);
  connection.exchange = nullptr;
}

void ExchangePool::take_batch(Exchange& exchange) {
  assert(exchange.batch == nullptr);
  exchange.batch = _batches.take([] { return std::make_unique_for_overwrite<char[]>(batch_capacity_bytes); });
  exchange.batch_length = 0;
  exchange.batch_responses = 0;
}

void ExchangePool::give_back_batch(Exchange& exchange) {
  if (exchange.batch != nullptr) {
    _batches.give(exchange.batch);
    exchange.batch = nullptr;
    exchange.batch_length = 0;
    exchange.batch_responses = 0;
  }
}

size_t ExchangePool::trim() {
  return _exchanges.trim(spare_exchanges_kept) + _large_inputs.trim(spare_large_inputs_kept) +
         _spaces.trim(spare_response_spaces_kept) + _batches.trim(spare_batches_kept);
}

}  // namespace ringhttpd
