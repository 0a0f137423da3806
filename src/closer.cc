#include "src/closer.h"

#include <sys/socket.h>

#include <algorithm>

namespace ringhttpd {
namespace {

constexpr int64_t linger_cap_ms = 30'000;

}  // namespace

Closer::Closer(const Config& config, const LoopState& loop, OpQueue& ops,
               ConnectionTable& connections, ExchangePool& exchanges, AccessLogWriter& log,
               uring::BufferRing& recv_buffers)
    : _config(config),
      _loop(loop),
      _ops(ops),
      _connections(connections),
      _exchanges(exchanges),
      _log(log),
      _recv_buffers(recv_buffers) {}

void Closer::abort(Connection& connection) {
  if (connection.state == ConnectionState::aborting || connection.state == ConnectionState::closing) {
    return;
  }
  if (connection.state == ConnectionState::sending) {
    _log.record(connection);  // a response cut short is logged with what was sent
  }
  _connections.clear_timer(connection);
  connection.enter(ConnectionState::aborting);
  if (connection.in_flight > 0) {
    // Every op naming the socket (RECV, SEND, SPLICE out, POLL) is cancelled;
    // a SPLICE in (file -> pipe) finishes by itself.
    io_uring_prep_cancel_fd(_ops.queue(connection, Op::cancel), connection.fd,
                            IORING_ASYNC_CANCEL_ALL);
  } else {
    queue_close(connection);
  }
}

// Closing at once would leave the kernel trickling the send buffer
// (megabytes) to a reader that stopped reading, for minutes after (seen:
// 100 s through a 4 KiB window); SO_LINGER 0 makes the close an RST.
void Closer::reset(Connection& connection) {
  linger reset{1, 0};
  setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  abort(connection);
}

void Closer::expire(Connection& connection, TimerKind kind) {
  switch (kind) {
    case TimerKind::send:
      reset(connection);
      return;
    case TimerKind::header:
      if (Exchange* exchange = connection.exchange;
          exchange != nullptr && exchange->in_start < exchange->in_end &&
          connection.discard_body_bytes == 0 && connection.state == ConnectionState::reading) {
        exchange->status = 408;  // part of a head came, and no more in time
        exchange->body_bytes_sent = 0;
        _log.record(connection);
      }
      abort(connection);
      return;
    case TimerKind::none:
    case TimerKind::idle:
    case TimerKind::linger:
    case TimerKind::count:
      abort(connection);
      return;
  }
}

// A plain close after a client that closes cleanly sends FIN at once, as
// nginx does. This skips SHUTDOWN, the draining RECV and its wakeup:
// Connection: close churn went from 17.2k to 20.0k requests/s and server
// CPU from 30 to 21 us per request (bench/RESULTS.md, bench/ab.sh).
void Closer::close_after_response(Connection& connection) {
  if (client_closes_cleanly(connection)) {
    queue_close(connection);
  } else {
    begin_linger(connection);
  }
}

// Lingering close: SHUT_WR sends FIN after the response, then input is
// drained until the client closes. Closing at once with unread input would
// send RST, and an RST can destroy a response the client has not read yet.
void Closer::begin_linger(Connection& connection) {
  _exchanges.release(connection);
  _connections.clear_timer(connection);
  connection.enter(ConnectionState::shutting);
  io_uring_prep_shutdown(_ops.queue(connection, Op::shutdown), connection.fd, SHUT_WR);
}

void Closer::on_shutdown(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  if (result < 0) {
    abort(connection);
    return;
  }
  connection.enter(ConnectionState::lingering);
  connection.linger_until_ms = _loop.now_ms + linger_cap_ms;
  _connections.set_timer(connection, TimerKind::linger, _loop.now_ms + _config.linger_timeout_ms);
  arm_drain(connection);
}

// Into a provided buffer: what a lingering client sends is dropped, and
// waiting for it holds no memory.
void Closer::arm_drain(Connection& connection) {
  io_uring_sqe* sqe = _ops.queue(connection, Op::drain);
  io_uring_prep_recv(sqe, connection.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = _recv_buffers.group_id();
}

// Bytes are dropped (the loop recycles their buffer); EOF, an error or the
// linger deadline ends it.
void Closer::on_drain(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  if (result == -ENOBUFS) {
    arm_drain(connection);  // every provided buffer was in use; they come back in this batch
    return;
  }
  if (result > 0 && _loop.now_ms < connection.linger_until_ms) {
    _connections.set_timer(connection, TimerKind::linger,
                           std::min<int64_t>(_loop.now_ms + _config.linger_timeout_ms,
                                             connection.linger_until_ms));
    arm_drain(connection);
  } else {
    abort(connection);
  }
}

void Closer::queue_close(Connection& connection) {
  _exchanges.release(connection);
  _connections.clear_timer(connection);
  connection.enter(ConnectionState::closing);
  io_uring_prep_close(_ops.queue(connection, Op::close_socket), connection.fd);
}

}  // namespace ringhttpd
