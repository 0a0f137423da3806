#include "src/input.h"

#include <cassert>
#include <cstring>

#include "src/tls_connection.h"

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
  _chunk_limits.max_data_bytes = max_skipped_body_bytes;
  _chunk_limits.max_trailer_bytes = config.max_header_bytes;
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
  if (exchange == nullptr || connection.tls != nullptr) {
    io_uring_prep_recv(sqe, connection.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = _recv_buffers.group_id();
    return;
  }
  make_room(*exchange, true);
  io_uring_prep_recv(sqe, connection.fd, exchange->in + exchange->in_end,
                     exchange->in_capacity - exchange->in_end, 0);
}

void Input::make_room(Exchange& exchange, bool enlarge) {
  if (exchange.in_start > 0) {
    uint32_t pending = exchange.in_end - exchange.in_start;
    std::memmove(exchange.in, exchange.in + exchange.in_start, pending);
    exchange.in_start = 0;
    exchange.in_end = pending;
  }
  if (enlarge && exchange.in_end == exchange.in_capacity && !exchange.large_input) {
    _exchanges.enlarge_input(exchange);  // a head longer than the small buffer
  }
}

// As much plaintext as the exchange has room for. The session keeps what
// does not fit (and copies what it has not read out of the receive buffer).
//
// A request that came with the client's close_notify is answered: the end
// counts once the bytes before it are used up. A KeyUpdate the client asks
// for cannot be answered where the kernel seals the records (it keeps its
// keys: src/tls/OPENSSL.md), and RFC 8446 4.6.3 allows no record before
// ours: such a connection ends.
Input::Pulled Input::pull(Connection& connection, bool enlarge) {
  tls::Session& session = connection.tls->session;
  uint32_t added = 0;
  bool closed = session.reading_ended();
  while (!closed && session.has_input()) {
    Exchange& exchange = connection.exchange != nullptr ? *connection.exchange : _exchanges.acquire(connection);
    make_room(exchange, enlarge && added == 0);
    uint32_t room = exchange.in_capacity - exchange.in_end;
    long got = session.read(exchange.in + exchange.in_end, room);
    if (got <= 0) {
      closed = got < 0;
      break;
    }
    exchange.in_end += static_cast<uint32_t>(got);
    added += static_cast<uint32_t>(got);
  }
  session.keep_unread();
  if (connection.exchange != nullptr && connection.exchange->in_start == connection.exchange->in_end &&
      connection.discard_body_bytes == 0 && !connection.exchange->reading_chunked_body) {
    _exchanges.release(connection);  // a partial record: nothing to hold yet
  }
  if (connection.tls->sealing == RecordSealing::kernel && session.key_update_due()) {
    return Pulled::closed;
  }
  return added > 0 ? Pulled::bytes : closed ? Pulled::closed : Pulled::nothing;
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
  if (connection.tls != nullptr) {
    // Read in place; the loop recycles the buffer once this returns.
    connection.tls->session.feed(_recv_buffers.buffer(uring::BufferRing::buffer_id(&cqe)),
                                 static_cast<size_t>(result));
    if (pull(connection, false) == Pulled::closed) {
      return {InputEvent::ended};  // close_notify, or a record that does not decrypt
    }
    return next_request(connection, false);
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

// The header deadline runs from the first byte of a request and is not
// extended by more bytes: a slow drip cannot hold the slot.
InputStep Input::wait_for_more(Connection& connection, bool& wants_bytes) {
  if (connection.timer.kind != TimerKind::header) {
    _connections.set_timer(connection, TimerKind::header, _loop.now_ms + _config.header_timeout_ms);
  }
  wants_bytes = true;
  return {};
}

// The body's bytes are scanned as they come and dropped; the head stays
// where it was parsed, or, if arm() moved the bytes since (compacted or
// enlarged the buffer), is parsed again where it now is.
InputStep Input::read_chunked_body(Connection& connection, bool& wants_bytes) {
  Exchange& exchange = *connection.exchange;
  if (exchange.head_parsed_at != exchange.in + exchange.in_start) {
    std::string_view head(exchange.in + exchange.in_start, exchange.head_bytes);
    [[maybe_unused]] ParseResult again = parse_request(head, _limits, exchange.request);
    assert(again.status == ParseStatus::complete && again.head_bytes == exchange.head_bytes);
    exchange.head_parsed_at = head.data();
  }
  uint32_t body_start = exchange.in_start + exchange.head_bytes;
  std::string_view fresh(exchange.in + body_start, exchange.in_end - body_start);
  size_t used = 0;
  ChunkedStatus status = scan_chunked(exchange.chunked, fresh, _chunk_limits, used);
  std::memmove(exchange.in + body_start, exchange.in + body_start + used, fresh.size() - used);
  exchange.in_end -= static_cast<uint32_t>(used);
  switch (status) {
    case ChunkedStatus::more:
      if (exchange.in_end == exchange.in_capacity && exchange.large_input) {
        exchange.keep_alive = false;  // a head as long as the buffer leaves no room for its body
        return {InputEvent::malformed, 413};
      }
      return wait_for_more(connection, wants_bytes);
    case ChunkedStatus::done:
      exchange.reading_chunked_body = false;
      _connections.clear_timer(connection);
      exchange.in_start = body_start;
      return {InputEvent::request};
    case ChunkedStatus::malformed:
      exchange.keep_alive = false;
      return {InputEvent::malformed, 400};
    case ChunkedStatus::too_large:
      exchange.keep_alive = false;
      return {InputEvent::malformed, 413};
  }
  return {};
}

bool Input::request_waiting(const Connection& connection) const {
  const Exchange& exchange = *connection.exchange;
  if (connection.discard_body_bytes > 0 || exchange.reading_chunked_body) {
    return false;
  }
  std::string_view rest(exchange.in + exchange.in_start, exchange.in_end - exchange.in_start);
  if (rest.find("\r\n\r\n") == std::string_view::npos) {
    return false;  // the common case, without parsing
  }
  Request next;
  ParseResult parsed = parse_request(rest, _limits, next);
  return parsed.status == ParseStatus::complete && !next.has_body() && !next.expect_continue &&
         !next.expect_other;
}

InputStep Input::next_request(Connection& connection, bool after_response) {
  connection.enter(ConnectionState::reading);
  for (;;) {
    bool wants_bytes = false;
    InputStep step = examine(connection, after_response, wants_bytes);
    if (!wants_bytes) {
      return step;
    }
    if (connection.tls != nullptr) {
      Pulled pulled = pull(connection, true);
      if (pulled == Pulled::closed) {
        return {InputEvent::ended};
      }
      if (pulled == Pulled::bytes) {
        continue;  // the session held more: parse it before receiving
      }
    }
    arm(connection);
    return {};
  }
}

InputStep Input::examine(Connection& connection, bool after_response, bool& wants_bytes) {
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
    wants_bytes = true;
    return {};
  }
  if (exchange->reading_chunked_body) {
    return read_chunked_body(connection, wants_bytes);
  }
  std::string_view input(exchange->in + exchange->in_start, exchange->in_end - exchange->in_start);
  if (!head_worth_parsing(input, exchange->head_looked, _limits)) {
    exchange->head_looked = static_cast<uint32_t>(input.size());
    return wait_for_more(connection, wants_bytes);
  }
  exchange->head_looked = static_cast<uint32_t>(input.size());
  ParseResult parsed = parse_request(input, _limits, exchange->request);
  switch (parsed.status) {
    case ParseStatus::incomplete:
      return wait_for_more(connection, wants_bytes);
    case ParseStatus::error:
      exchange->keep_alive = false;
      exchange->head_only = false;
      exchange->request_parsed = false;
      return {InputEvent::malformed, parsed.error_status};
    case ParseStatus::complete:
      exchange->request_parsed = true;
      exchange->head_bytes = parsed.head_bytes;
      exchange->head_parsed_at = input.data();
      // A chunked body is read before the answer, so a bad one is a 400
      // (RFC 9112 §7.1); one the client holds back for a 100 Continue is
      // not waited for (the router closes after the answer).
      if (exchange->request.has_transfer_encoding && !exchange->request.expect_continue) {
        exchange->reading_chunked_body = true;
        return read_chunked_body(connection, wants_bytes);
      }
      _connections.clear_timer(connection);
      exchange->in_start += parsed.head_bytes;  // the views stay valid: no compaction until idle
      return {InputEvent::request};
  }
  return {};
}

}  // namespace ringhttpd
