#pragma once
// Request input: RECV into a provided buffer while a connection is idle,
// into its exchange once it holds part of a request; the body a request
// carries skipped; the head parsed (src/http/request.h) and the header
// deadline kept. What a parse comes to is handed back as an InputStep.
//
// A TLS connection always receives into a provided buffer: its session
// decrypts into the exchange (pull()), and a RECV is armed only when the
// session can give nothing more, so what it holds is never left waiting.

#include <cstdint>

#include "conf/config.h"
#include "src/connection_table.h"
#include "src/http/chunked.h"
#include "src/exchange_pool.h"
#include "src/loop_state.h"
#include "src/op.h"
#include "uring/buffer_ring.h"

namespace ringhttpd {

enum class InputEvent : uint8_t {
  waiting,    // a RECV is queued for more bytes (or the connection is closing)
  request,    // a whole head is parsed into exchange.request
  malformed,  // bytes that can never be a valid head: answer `status`, then close
  ended,      // the client closed or failed, or owes nothing at stop: close
};

struct InputStep {
  InputEvent event = InputEvent::waiting;
  uint16_t status = 0;  // malformed: 400, 414, 431, 501 or 505
};

class Input {
 public:
  Input(const Config& config, const LoopState& loop, OpQueue& ops, uring::BufferRing& recv_buffers,
        ExchangePool& exchanges, ConnectionTable& connections);
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  // Queues a RECV for the connection's next bytes.
  void arm(Connection& connection);
  InputStep on_recv(Connection& connection, const io_uring_cqe& cqe);
  // The bytes held make the next request, or a RECV is armed for them.
  // after_response: a response just ended, so the keep-alive wait starts.
  InputStep next_request(Connection& connection, bool after_response);
  // The bytes after the request being answered hold the next request,
  // whole and without a body: next_request() will answer it without
  // waiting for the client (what makes batching a response safe).
  bool request_waiting(const Connection& connection) const;

 private:
  // The bytes held, parsed; `wants_bytes` when nothing comes of them
  // until more arrive (the caller pulls from TLS, or arms a RECV).
  InputStep examine(Connection& connection, bool after_response, bool& wants_bytes);
  InputStep wait_for_more(Connection& connection, bool& wants_bytes);
  InputStep read_chunked_body(Connection& connection, bool& wants_bytes);
  // Compacts the exchange's input; `enlarge`: a full small buffer gives
  // way to a --max-header one.
  void make_room(Exchange& exchange, bool enlarge);
  enum class Pulled : uint8_t { nothing, bytes, closed };
  // What the TLS session can decrypt now, into the exchange.
  Pulled pull(Connection& connection, bool enlarge);

  const Config& _config;
  const LoopState& _loop;
  OpQueue& _ops;
  uring::BufferRing& _recv_buffers;
  ExchangePool& _exchanges;
  ConnectionTable& _connections;
  ParseLimits _limits;
  ChunkedLimits _chunk_limits;
};

}  // namespace ringhttpd
