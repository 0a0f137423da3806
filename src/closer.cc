#include "src/closer.h"

#include <linux/tls.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "src/tls_connection.h"

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
  struct linger reset{1, 0};
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
    case TimerKind::handshake:  // counted by the handshaker, which sends it here
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
  bool nothing_unread = connection.tls == nullptr || !connection.tls->session.has_input();
  if (client_closes_cleanly(connection) && nothing_unread) {
    queue_close_notify(connection);
    queue_close(connection);
  } else {
    queue_close_notify(connection);
    linger(connection);
  }
}

// RFC 8446 6.1: a TLS connection says it is closing its side. The alert
// is sealed here (user sealing), or handed to the kernel's records as a
// record of type alert. Hard-linked: the CLOSE or SHUTDOWN behind it goes
// on even if the send fails. MSG_DONTWAIT: a client that stopped reading
// (its window shut) would otherwise hold the send, and the close behind
// it, with no deadline; then it gets no alert, as after any cut.
void Closer::queue_close_notify(Connection& connection) {
  TlsConnection* tls = connection.tls;
  if (tls == nullptr || !tls->session.handshake_done() || tls->close_notify_sent) {
    return;
  }
  tls->close_notify_sent = true;
  msghdr& message = tls->alert_message;
  message = {};
  if (tls->sealing == RecordSealing::user) {
    tls->alert_bytes = tls->session.seal_close_notify(tls->alert);
    if (tls->alert_bytes == 0) {
      return;
    }
  } else {
    tls->alert[0] = 1;  // warning
    tls->alert[1] = 0;  // close_notify
    tls->alert_bytes = 2;
    message.msg_control = tls->alert_control;
    message.msg_controllen = sizeof tls->alert_control;
    cmsghdr* type = CMSG_FIRSTHDR(&message);
    type->cmsg_level = SOL_TLS;
    type->cmsg_type = TLS_SET_RECORD_TYPE;
    type->cmsg_len = CMSG_LEN(1);
    *CMSG_DATA(type) = 21;  // alert
    message.msg_controllen = type->cmsg_len;
  }
  tls->alert_vector = {tls->alert, tls->alert_bytes};
  message.msg_iov = &tls->alert_vector;
  message.msg_iovlen = 1;
  _ops.reserve(2);
  io_uring_sqe* sqe = _ops.queue(connection, Op::close_notify);
  io_uring_prep_sendmsg(sqe, connection.fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  sqe->flags |= IOSQE_IO_HARDLINK;
}

// Lingering close: SHUT_WR sends FIN after the response, then input is
// drained until the client closes. Closing at once with unread input would
// send RST, and an RST can destroy a response the client has not read yet.
void Closer::linger(Connection& connection) {
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
