#include "src/input.h"

#include <cstring>

namespace ringhttpd {

Input::Input(const Config& config, const LoopState& loop, OpQueue& ops,
             uring::BufferRing& recv_buffers, ExchangePool& exchanges, ConnectionTable& connections)
    : _config(config),
      _loop(loop),
      _ops(ops),
      _recv_buffers(recv_buffers),
      _exchanges(exchanges),
      _connections(connections) {
  _limits.max_request_line_bytes = config.max_uri_bytes;
  _limits.max_header_bytes = config.max_header_bytes;
  _limits.max_header_count = config.max_header_count;
}

// Idle connections receive into a provided buffer (the kernel picks one only
// when bytes arrive, so waiting costs no memory). A connection holding a
// partial request receives straight into its exchange, after the bytes it has.
//
// Single-shot RECV, armed only while the connection wants input, rather than
// multishot: a multishot RECV keeps delivering while a response is being
// sent, and a client pipelining faster than we answer would then need
// unbounded buffering or a cancel race. Armed on demand, unread requests stay
// in the socket and TCP pushes back (uring/KERNEL.md, "RECV on an empty
// socket"). Multishot RECV measured no gain (bench/RESULTS.md).
void Input::arm(Connection& connection) {
  io_uring_sqe* sqe = _ops.queue(connection, Op::recv);
  Exchange* exchange = connection.exchange;
  if (exchange == nullptr) {
    io_uring_prep_recv(sqe, connection.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = _recv_buffers.group_id();
    return;
  }
  if (exchange->in_start > 0) {
    uint32_t pending = exchange->in_end - exchange->in_start;
    std::memmove(exchange->in, exchange->in + exchange->in_start, pending);
    exchange->in_start = 0;
    exchange->in_end = pending;
  }
  if (exchange->in_end == exchange->in_capacity && !exchange->large_input) {
    _exchanges.enlarge_input(*exchange);  // a head longer than the small buffer
  }
  io_uring_prep_recv(sqe, connection.fd, exchange->in + exchange->in_end,
                     exchange->in_capacity - exchange->in_end, 0);
}

InputStep Input::on_recv(Connection& connection, const io_uring_cqe& cqe) {
  if (connection.state == ConnectionState::aborting) {
    return {};
  }
  int result = cqe.res;
  if (result == -ENOBUFS) {
    // Every provided buffer was in use; they are recycled within this batch,
    // before the re-armed RECV is submitted.
    arm(connection);
    return {};
  }
  if (result <= 0) {
    return {InputEvent::ended};  // peer closed, reset, or the RECV was cancelled
  }
  if (uring::BufferRing::has_buffer(&cqe)) {
    // The loop recycles the buffer once this returns.
    Exchange& exchange = _exchanges.acquire(connection);
    std::memcpy(exchange.in, _recv_buffers.buffer(uring::BufferRing::buffer_id(&cqe)),
                static_cast<size_t>(result));
    exchange.in_end = static_cast<uint32_t>(result);
  } else {
    connection.exchange->in_end += static_cast<uint32_t>(result);
  }
  return next_request(connection, false);
}

InputStep Input::next_request(Connection& connection, bool after_response) {
  connection.enter(ConnectionState::reading);
  Exchange* exchange = connection.exchange;
  bool body_skipped = false;  // the last of a skipped body just went
  if (exchange != nullptr && connection.discard_body_bytes > 0) {
    uint64_t skip = std::min<uint64_t>(connection.discard_body_bytes,
                                       exchange->in_end - exchange->in_start);
    exchange->in_start += static_cast<uint32_t>(skip);
    connection.discard_body_bytes -= skip;
    body_skipped = connection.discard_body_bytes == 0;
  }
  if (body_skipped) {
    _connections.clear_timer(connection);  // the body's deadline is not the next request's
  }
  if (exchange == nullptr || exchange->in_start == exchange->in_end) {
    _exchanges.release(connection);
    bool discarding = connection.discard_body_bytes > 0;
    if (_loop.stopping && !discarding) {
      return {InputEvent::ended};  // idle at stop: nothing owed to this client
    }
    if (after_response || body_skipped) {
      _connections.set_timer(connection, discarding ? TimerKind::header : TimerKind::idle,
                             _loop.now_ms + (discarding ? _config.header_timeout_ms
                                                        : _config.keepalive_timeout_ms));
    }
    arm(connection);
    return {};
  }
  std::string_view input(exchange->in + exchange->in_start, exchange->in_end - exchange->in_start);
  ParseResult parsed = parse_request(input, _limits, exchange->request);
  switch (parsed.status) {
    case ParseStatus::incomplete:
      // The header deadline runs from the first byte of a request and is
      // not extended by more bytes: a slow drip cannot hold the slot.
      if (connection.timer.kind != TimerKind::header) {
        _connections.set_timer(connection, TimerKind::header,
                               _loop.now_ms + _config.header_timeout_ms);
      }
      arm(connection);
      return {};
    case ParseStatus::error:
      exchange->keep_alive = false;
      exchange->head_only = false;
      exchange->request_parsed = false;
      return {InputEvent::malformed, parsed.error_status};
    case ParseStatus::complete:
      _connections.clear_timer(connection);
      exchange->request_parsed = true;
      exchange->head_bytes = parsed.head_bytes;
      exchange->in_start += parsed.head_bytes;  // the views stay valid: no compaction until idle
      return {InputEvent::request};
  }
  return {};
}

}  // namespace ringhttpd
