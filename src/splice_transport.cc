#include "src/splice_transport.h"

#include <linux/sock_diag.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

namespace ringhttpd {
namespace {

constexpr int send_flags = MSG_WAITALL | MSG_NOSIGNAL;

// What one send-side result says of the response: bytes went, or the
// client is gone (EPIPE, ECONNRESET: it closed or reset the connection).
void note_result(SendProgress& send, int result) {
  if (result > 0) {
    send.bytes_out = true;
  } else if (result == -EPIPE || result == -ECONNRESET) {
    send.peer_left = true;
  }
}

}  // namespace

bool SpliceTransport::take_pipe(Exchange& exchange, uint64_t body_bytes) {
  assert(exchange.send.pipe == nullptr);
  exchange.send.pipe = _pipes.acquire(body_bytes);
  return exchange.send.pipe != nullptr;
}

void SpliceTransport::give_back_pipe(Exchange& exchange) {
  assert(exchange.send.pipe != nullptr && exchange.send.pipe_bytes == 0);
  _pipes.release(exchange.send.pipe, true);
  exchange.send.pipe = nullptr;
}

uint32_t SpliceTransport::socket_room(const Connection& connection) {
  uint32_t memory[SK_MEMINFO_VARS] = {};
  socklen_t length = sizeof memory;
  if (getsockopt(connection.fd, SOL_SOCKET, SO_MEMINFO, memory, &length) != 0 ||
      length < sizeof memory) {
    return UINT32_MAX;
  }
  uint32_t buffer = memory[SK_MEMINFO_SNDBUF];
  uint32_t queued = memory[SK_MEMINFO_WMEM_QUEUED];
  return buffer > queued ? (buffer - queued) / 8 * 5 : 0;
}

void SpliceTransport::queue_writable(Connection& connection) {
  io_uring_prep_poll_add(_ops.queue(connection, Op::poll_out), connection.fd, POLLOUT);
  ++connection.exchange->send.chain_pending;
}

void SpliceTransport::queue_bytes(Connection& connection, const char* bytes, uint32_t length,
                                  int flags, bool linked) {
  Exchange& exchange = *connection.exchange;
  io_uring_sqe* send = _ops.queue(connection, Op::send);
  io_uring_prep_send(send, connection.fd, bytes, length, send_flags | flags);
  if (linked) {
    send->flags |= IOSQE_IO_LINK;
  }
  exchange.send.head_out_bytes = length;
  ++exchange.send.chain_pending;
}

void SpliceTransport::queue_message(Connection& connection, int flags) {
  Exchange& exchange = *connection.exchange;
  exchange.send.head_out_bytes = exchange.send.message_left;
  ++exchange.send.chain_pending;
  io_uring_prep_sendmsg(_ops.queue(connection, Op::send_message), connection.fd,
                        &exchange.space->message, MSG_NOSIGNAL | flags);
}

void SpliceTransport::queue_file_chunk(Connection& connection, int file_fd, bool more) {
  SendProgress& send = connection.exchange->send;
  assert(send.pipe != nullptr);
  auto chunk = static_cast<uint32_t>(std::min<uint64_t>(
      {send.body_remaining, send.pipe->capacity_bytes, send.chunk_limit}));
  _ops.reserve(2);
  io_uring_sqe* in = _ops.queue(connection, Op::splice_in);
  io_uring_prep_splice(in, file_fd, static_cast<int64_t>(send.body_offset), send.pipe->write_fd, -1,
                       chunk, 0);
  in->flags |= IOSQE_IO_LINK;
  io_uring_sqe* out = _ops.queue(connection, Op::splice_out);
  more |= chunk < send.body_remaining;
  io_uring_prep_splice(out, send.pipe->read_fd, -1, connection.fd, -1, chunk,
                       more ? SPLICE_F_MORE : 0);
  send.splice_out_asked = chunk;
  send.chain_pending += 2;
}

void SpliceTransport::queue_pipe_flush(Connection& connection, bool more) {
  SendProgress& send = connection.exchange->send;
  _ops.reserve(2);
  if (send.socket_full) {
    io_uring_sqe* poll = _ops.queue(connection, Op::poll_out);
    io_uring_prep_poll_add(poll, connection.fd, POLLOUT);
    poll->flags |= IOSQE_IO_LINK;
    ++send.chain_pending;
  }
  io_uring_sqe* out = _ops.queue(connection, Op::splice_out);
  io_uring_prep_splice(out, send.pipe->read_fd, -1, connection.fd, -1, send.pipe_bytes,
                       more ? SPLICE_F_MORE : 0);
  send.splice_out_asked = send.pipe_bytes;
  ++send.chain_pending;
}

bool SpliceTransport::on_sent(Exchange& exchange, int result) {
  SendProgress& send = exchange.send;
  note_result(send, result);
  if (result != static_cast<int>(send.head_out_bytes)) {
    send.chain_failed = true;
  }
  return chain_done(send);
}

// A partial SENDMSG: the vectors move past what went, for the next one.
bool SpliceTransport::on_message_sent(Exchange& exchange, int result) {
  SendProgress& send = exchange.send;
  note_result(send, result);
  if (result <= 0 || static_cast<uint32_t>(result) > send.message_left) {
    send.chain_failed = true;
    return chain_done(send);
  }
  send.message_left -= static_cast<uint32_t>(result);
  msghdr& message = exchange.space->message;
  auto sent = static_cast<size_t>(result);
  while (sent > 0) {
    iovec& first = message.msg_iov[0];
    size_t taken = std::min(sent, first.iov_len);
    first.iov_base = static_cast<char*>(first.iov_base) + taken;
    first.iov_len -= taken;
    sent -= taken;
    if (first.iov_len == 0) {
      ++message.msg_iov;
      --message.msg_iovlen;
    }
  }
  return chain_done(send);
}

bool SpliceTransport::on_spliced_in(Exchange& exchange, int result) {
  SendProgress& send = exchange.send;
  if (result > 0) {
    assert(static_cast<uint64_t>(result) <= send.body_remaining);
    send.pipe_bytes += static_cast<uint32_t>(result);
    send.body_offset += static_cast<uint64_t>(result);
    send.body_remaining -= static_cast<uint64_t>(result);
  } else if (result == 0) {
    send.file_ended_early = true;  // truncated since the STATX
  } else if (result != -ECANCELED) {
    send.chain_failed = true;
  }
  return chain_done(send);
}

bool SpliceTransport::on_spliced_out(Exchange& exchange, int result) {
  SendProgress& send = exchange.send;
  note_result(send, result);
  if (result > 0) {
    assert(static_cast<uint32_t>(result) <= send.pipe_bytes);
    send.pipe_bytes -= static_cast<uint32_t>(result);
    exchange.body_bytes_sent += static_cast<uint64_t>(result);
    send.socket_full = static_cast<uint32_t>(result) < send.splice_out_asked;
  } else if (result == -EAGAIN) {
    send.socket_full = true;
  } else if (result == -ECANCELED) {
    send.socket_full = false;  // the splice in was short; retry at once
  } else {
    send.chain_failed = true;  // EPIPE, ECONNRESET: the client left
  }
  return chain_done(send);
}

bool SpliceTransport::on_writable(Exchange& exchange, int result) {
  if (result < 0) {
    exchange.send.chain_failed = true;
  }
  return chain_done(exchange.send);
}

}  // namespace ringhttpd
