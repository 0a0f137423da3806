// Sending a response, and closing a connection.
//
// A file body goes out as one linked chain per pipe-sized chunk:
//   SEND head (MSG_MORE | MSG_WAITALL) -> SPLICE file->pipe -> SPLICE pipe->socket
// MSG_WAITALL matters: without it a partial SEND would still let the link
// go on, and body bytes would overtake the rest of the head. With it the
// kernel keeps sending until the head is out (checked: an 8 MiB SEND to a
// slow reader completes whole before its linked splice runs).
//
// A splice that moves fewer bytes than asked breaks the link (the next op
// gets -ECANCELED), and a non-blocking socket answers a full send buffer with
// a short count or -EAGAIN. So each chain's results are collected and, when
// the last CQE of the chain is in, advance_response() decides the next step:
// flush what is left in the pipe (after POLLOUT when the socket was full),
// splice the next chunk, or finish.

#include <poll.h>

#include <cstring>

#include "src/log.h"
#include "src/worker.h"

namespace ringhttpd {
namespace {

constexpr int head_send_flags = MSG_WAITALL | MSG_NOSIGNAL;
constexpr int64_t linger_cap_ms = 30'000;

}  // namespace

// The scratch area is sized for the longest head (max URI plus fixed fields),
// so this never fails; if a change ever broke that, the connection closes
// rather than send a cut-off head.
bool Worker::head_fits(Connection& connection, const HeaderWriter& head) {
  if (!head.overflowed()) {
    return true;
  }
  log_error("ringhttpd: worker %u: response head larger than %u bytes; closing", _index,
            connection.exchange->scratch_capacity);
  abort(connection);
  return false;
}

void Worker::send_head_only(Connection& connection, const HeaderWriter& head) {
  if (!head_fits(connection, head)) {
    return;
  }
  Exchange& exchange = *connection.exchange;
  close_file(exchange.file_fd);  // HEAD, an empty file or an error: no body
  exchange.head_out_bytes = static_cast<uint32_t>(head.size());
  exchange.body_remaining = 0;
  exchange.chain_pending = 1;
  connection.state = ConnectionState::sending;
  io_uring_prep_send(queue(connection, Op::send), connection.fd, exchange.scratch,
                     exchange.head_out_bytes, head_send_flags);
}

void Worker::send_file(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  const CacheEntry& entry = *exchange.entry;
  HeaderWriter head(exchange.scratch, exchange.scratch_capacity);
  render_file_head(head, common_fields(exchange),
                   {entry.info.size, entry.content_type, entry.last_modified_text(),
                    entry.etag_text()});
  if (exchange.head_only || entry.info.size == 0) {
    exchange.status = 200;
    send_head_only(connection, head);
    return;
  }
  if (!head_fits(connection, head)) {
    return;
  }
  connection.state = ConnectionState::sending;
  exchange.status = 200;
  if (entry.body_ready) {
    // Warm small file: head and body in one SENDMSG, no io-wq hop. The
    // entry's reference keeps the body alive until the CQE.
    exchange.vectors[0] = {exchange.scratch, head.size()};
    exchange.vectors[1] = {entry.body.get(), entry.info.size};
    exchange.message = {};
    exchange.message.msg_iov = exchange.vectors;
    exchange.message.msg_iovlen = 2;
    exchange.head_out_bytes = static_cast<uint32_t>(head.size() + entry.info.size);
    exchange.body_bytes_sent = entry.info.size;
    exchange.body_remaining = 0;
    exchange.chain_pending = 1;
    io_uring_prep_sendmsg(queue(connection, Op::send), connection.fd, &exchange.message,
                          head_send_flags);
    return;
  }
  exchange.pipe = _pipes.acquire();
  if (exchange.pipe == nullptr) {
    log_error("ringhttpd: worker %u: no pipe for splice: %s", _index, strerror(errno));
    exchange.keep_alive = false;
    respond_status(connection, 503);
    return;
  }
  exchange.head_out_bytes = static_cast<uint32_t>(head.size());
  exchange.body_offset = 0;
  exchange.body_remaining = entry.info.size;
  _ring.reserve(3);
  io_uring_sqe* send = queue(connection, Op::send);
  io_uring_prep_send(send, connection.fd, exchange.scratch, exchange.head_out_bytes,
                     head_send_flags | MSG_MORE);
  send->flags |= IOSQE_IO_LINK;
  exchange.chain_pending = 1;
  queue_splice_chunk(connection);
}

void Worker::queue_splice_chunk(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  auto chunk = static_cast<uint32_t>(
      std::min<uint64_t>(exchange.body_remaining, exchange.pipe->capacity_bytes));
  _ring.reserve(2);
  io_uring_sqe* in = queue(connection, Op::splice_in);
  io_uring_prep_splice(in, exchange.entry->fd, static_cast<int64_t>(exchange.body_offset),
                       exchange.pipe->write_fd, -1, chunk, 0);
  in->flags |= IOSQE_IO_LINK;
  io_uring_sqe* out = queue(connection, Op::splice_out);
  bool more = chunk < exchange.body_remaining;
  io_uring_prep_splice(out, exchange.pipe->read_fd, -1, connection.fd, -1, chunk,
                       more ? SPLICE_F_MORE : 0);
  exchange.splice_out_asked = chunk;
  exchange.chain_pending += 2;
}

void Worker::queue_pipe_flush(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  _ring.reserve(2);
  if (exchange.socket_full) {
    io_uring_sqe* poll = queue(connection, Op::poll_out);
    io_uring_prep_poll_add(poll, connection.fd, POLLOUT);
    poll->flags |= IOSQE_IO_LINK;
    ++exchange.chain_pending;
  }
  io_uring_sqe* out = queue(connection, Op::splice_out);
  io_uring_prep_splice(out, exchange.pipe->read_fd, -1, connection.fd, -1, exchange.pipe_bytes,
                       exchange.body_remaining > 0 ? SPLICE_F_MORE : 0);
  exchange.splice_out_asked = exchange.pipe_bytes;
  ++exchange.chain_pending;
}

void Worker::on_chain_completion(Connection& connection, Op op, int result) {
  if (connection.exchange == nullptr) {
    return;
  }
  Exchange& exchange = *connection.exchange;
  --exchange.chain_pending;
  switch (op) {
    case Op::send:
      if (result != static_cast<int>(exchange.head_out_bytes)) {
        exchange.chain_failed = true;
      }
      break;
    case Op::splice_in:
      if (result > 0) {
        exchange.pipe_bytes += static_cast<uint32_t>(result);
        exchange.body_offset += static_cast<uint64_t>(result);
        exchange.body_remaining -= static_cast<uint64_t>(result);
      } else if (result == 0) {
        exchange.file_ended_early = true;  // truncated since the STATX
      } else if (result != -ECANCELED) {
        exchange.chain_failed = true;
      }
      break;
    case Op::splice_out:
      if (result > 0) {
        exchange.pipe_bytes -= static_cast<uint32_t>(result);
        exchange.body_bytes_sent += static_cast<uint64_t>(result);
        exchange.socket_full = static_cast<uint32_t>(result) < exchange.splice_out_asked;
      } else if (result == -EAGAIN) {
        exchange.socket_full = true;
      } else if (result == -ECANCELED) {
        exchange.socket_full = false;  // the splice in was short; retry at once
      } else {
        exchange.chain_failed = true;  // EPIPE, ECONNRESET: the client left
      }
      break;
    case Op::poll_out:
      if (result < 0) {
        exchange.chain_failed = true;
      }
      break;
    case Op::accept:
    case Op::tick:
    case Op::stop:
    case Op::cancel_accept:
    case Op::close_file:
    case Op::recv:
    case Op::open:
    case Op::statx:
    case Op::revalidate:
    case Op::read_body:
    case Op::log_write:
    case Op::shutdown:
    case Op::cancel:
    case Op::close_socket:
      break;  // not part of a send chain
  }
  if (exchange.chain_pending == 0 && connection.state == ConnectionState::sending) {
    advance_response(connection);
  }
}

void Worker::advance_response(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  if (exchange.chain_failed) {
    abort(connection);
  } else if (exchange.pipe_bytes > 0) {
    queue_pipe_flush(connection);
  } else if (exchange.file_ended_early) {
    // The head promised more bytes than the file now has: the only honest
    // end is to close, so the client sees a short body, not a wrong one.
    log_warn("ringhttpd: worker %u: %s shrank during a response; closing", _index,
              exchange.entry->resolved_path.c_str());
    _cache.invalidate(exchange.entry);
    abort(connection);
  } else if (exchange.body_remaining > 0) {
    queue_splice_chunk(connection);
  } else {
    finish_exchange(connection);
  }
}

void Worker::finish_exchange(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  log_exchange(connection);
  if (exchange.pipe != nullptr) {
    _pipes.release(exchange.pipe, true);
    exchange.pipe = nullptr;
  }
  close_file(exchange.file_fd);
  if (exchange.entry != nullptr) {
    _cache.release(exchange.entry);
    exchange.entry = nullptr;
  }
  if (!exchange.keep_alive || _stopping) {
    begin_close(connection);
    return;
  }
  exchange.reset_for_next_request();
  process_input(connection, true);
}

void Worker::release_exchange(Connection& connection) {
  Exchange* exchange = connection.exchange;
  if (exchange == nullptr) {
    return;
  }
  if (exchange->pipe != nullptr) {
    _pipes.release(exchange->pipe, exchange->pipe_bytes == 0);
  }
  close_file(exchange->file_fd);
  if (exchange->entry != nullptr) {
    _cache.release(exchange->entry);
    exchange->entry = nullptr;
  }
  _exchanges.release(exchange);
  connection.exchange = nullptr;
}

void Worker::close_file(int& fd) {
  if (fd >= 0) {
    io_uring_prep_close(queue_detached(Op::close_file), fd);
    fd = -1;
  }
}

// ---- closing ------------------------------------------------------------------

// Lingering close: SHUT_WR sends FIN after the response, then input is
// drained until the client closes. Closing at once with unread input would
// send RST, and an RST can destroy a response the client has not read yet.
void Worker::begin_close(Connection& connection) {
  release_exchange(connection);
  timer_clear(connection);
  connection.state = ConnectionState::shutting;
  io_uring_prep_shutdown(queue(connection, Op::shutdown), connection.fd, SHUT_WR);
}

void Worker::on_shutdown(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  if (result < 0) {
    abort(connection);
    return;
  }
  connection.state = ConnectionState::lingering;
  connection.linger_until_ms = _now_ms + linger_cap_ms;
  timer_set(connection, TimerKind::linger, _now_ms + _config.linger_timeout_ms);
  arm_recv(connection);
}

void Worker::abort(Connection& connection) {
  if (connection.state == ConnectionState::aborting || connection.state == ConnectionState::closing) {
    return;
  }
  if (connection.state == ConnectionState::sending) {
    log_exchange(connection);  // a response cut short is logged with what was sent
  }
  timer_clear(connection);
  connection.state = ConnectionState::aborting;
  if (connection.in_flight > 0) {
    // Every op naming the socket (RECV, SEND, SPLICE out, POLL) is cancelled;
    // a SPLICE in (file -> pipe) finishes by itself. The close waits for the
    // last completion: a queued splice resolves its fd only when it runs.
    io_uring_prep_cancel_fd(queue(connection, Op::cancel), connection.fd, IORING_ASYNC_CANCEL_ALL);
  } else {
    queue_close(connection);
  }
}

void Worker::queue_close(Connection& connection) {
  release_exchange(connection);
  timer_clear(connection);
  connection.state = ConnectionState::closing;
  io_uring_prep_close(queue(connection, Op::close_socket), connection.fd);
}

}  // namespace ringhttpd
