#pragma once
// Pipelined responses in one send. When a client has pipelined requests
// and the next one is already whole in the input, a response held in
// memory (a head alone, or a head and a cached small body) is copied into
// the exchange's batch instead of being sent; it is logged and done, and
// the next request goes on at once. The first response that is not
// batched (no request waits behind it, it closes, or its body is spliced)
// carries the batch: its first piece is appended and the whole goes out
// in its first SEND or SENDMSG, so the responses stay in order and each
// is still one log line. A batch response is logged when it is copied,
// as a response is logged when the socket takes it: a connection lost
// before the carrier goes loses them with it.
//
// Why: at 16 requests pipelined on each of 64 connections, one SENDMSG,
// one completion and one trip through the loop per 1 KiB response was most
// of the server's 6.6-8.2 us of CPU per request (bench/RESULTS.md).

#include <cassert>
#include <cstdint>
#include <cstring>

#include "src/exchange.h"

namespace ringhttpd {

inline constexpr uint32_t batch_capacity_bytes = 64 * 1024;
inline constexpr uint32_t most_batched_responses = 64;

// The bytes of a response planned from memory (exchange.plan(): head-only,
// or its ranges of `body`), all pieces and ranges in order.
inline uint32_t memory_response_bytes(const SendPlan& plan) {
  uint64_t total = plan.piece_end[plan.range_count];  // the pieces lie end to end in scratch
  for (uint8_t k = 0; k < plan.range_count; ++k) {
    total += plan.ranges[k].length;
  }
  return total > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(total);
}

// Room for `bytes` more, keeping room for the first piece of the response
// that will carry the batch (at most a scratch area).
inline bool batch_has_room(const Exchange& exchange, uint32_t bytes) {
  uint64_t after = uint64_t{exchange.batch_length} + bytes + exchange.scratch_capacity;
  return after <= batch_capacity_bytes && exchange.batch_responses < most_batched_responses;
}

inline void append_to_batch(Exchange& exchange, const char* bytes, uint32_t length) {
  assert(exchange.batch != nullptr && exchange.batch_length + length <= batch_capacity_bytes);
  std::memcpy(exchange.batch + exchange.batch_length, bytes, length);
  exchange.batch_length += length;
}

// The whole response into the batch: pieces from scratch, ranges from the
// body in memory (null for a head-only plan).
inline void append_memory_response(Exchange& exchange, const char* body) {
  exchange.plan().for_each_span(exchange.scratch, body, [&](const char* bytes, size_t length) {
    append_to_batch(exchange, bytes, static_cast<uint32_t>(length));
  });
  ++exchange.batch_responses;
}

}  // namespace ringhttpd
