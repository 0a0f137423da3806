#include "src/tls_sender.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cassert>
#include <string_view>

#include "src/tls_connection.h"

namespace ringhttpd {
namespace {

// The plan's piece before range k (k = range_count: the closing piece).
std::string_view piece(const Exchange& exchange, uint8_t k) {
  const SendPlan& plan = exchange.plan();
  return {exchange.scratch + plan.piece_start(k), plan.piece_bytes(k)};
}

constexpr unsigned most_read_vectors = 2 * max_ranges_limit + 1;  // ResponseSpace::vectors

}  // namespace

SendStep TlsSender::start(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  TlsConnection& tls = *connection.tls;
  assert(exchange.send.chain_pending == 0 && tls.sealing == RecordSealing::user);
  exchange.status = exchange.plan().status;
  connection.enter(ConnectionState::sending);
  progress(connection);
  _buffers.lend(tls);
  if (tls.session.key_update_due() && !tls.session.send_key_update()) {
    return SendStep::failed;
  }
  return fill(connection);
}

// Some of `length` bytes from `done` on, into records; true when all went.
bool TlsSender::append(Connection& connection, const char* bytes, uint32_t length, uint32_t& done) {
  if (done < length) {
    done += connection.tls->session.append(bytes + done, length - done);
  }
  return done == length;
}

SendStep TlsSender::fill(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  SendProgress& send = exchange.send;
  const SendPlan& plan = exchange.plan();
  TlsConnection& tls = *connection.tls;
  bool room = true;
  while (room && !send.records_done) {
    if (exchange.batch_length > 0 && send.batch_done < exchange.batch_length) {
      room = append(connection, exchange.batch, exchange.batch_length, send.batch_done);
      continue;
    }
    uint8_t k = send.range_index;
    if (!send.in_range) {
      std::string_view bytes = piece(exchange, k);
      room = append(connection, bytes.data(), static_cast<uint32_t>(bytes.size()), send.piece_done);
      if (!room) {
        break;
      }
      if (k == plan.range_count) {
        send.records_done = true;
        break;
      }
      send.in_range = true;
      send.body_offset = plan.ranges[k].first;
      send.body_remaining = plan.ranges[k].length;
      continue;
    }
    if (send.body_remaining == 0) {
      send.range_index = static_cast<uint8_t>(k + 1);
      send.in_range = false;
      send.piece_done = 0;
      continue;
    }
    const CacheEntry& served = exchange.served();
    if (served.body_ready) {
      auto want = static_cast<uint32_t>(std::min<uint64_t>(send.body_remaining, UINT32_MAX));
      uint32_t taken = tls.session.append(served.body.get() + send.body_offset, want);
      send.body_offset += taken;
      send.body_remaining -= taken;
      send.body_in_records += taken;
      room = send.body_remaining == 0;
      continue;
    }
    uint32_t planned = 0;
    unsigned vectors = tls.session.plan_read(send.body_remaining, exchange.space->vectors,
                                             most_read_vectors, planned);
    if (vectors == 0) {
      break;  // the buffer is full: send it first
    }
    // From the page cache at once when the bytes are there (RWF_NOWAIT
    // never blocks: it says EAGAIN instead), else by a READV through the
    // ring, which may wait for the disk on an io-wq thread.
    ssize_t got = preadv2(exchange.served().fd, exchange.space->vectors, static_cast<int>(vectors),
                          static_cast<off_t>(send.body_offset), RWF_NOWAIT);
    if (got > 0) {
      took_from_file(connection, static_cast<uint32_t>(got));
      continue;
    }
    if (got == 0) {
      send.file_ended_early = true;  // truncated since the STATX
      return SendStep::file_shrank;
    }
    if (errno != EAGAIN && errno != EOPNOTSUPP) {
      return SendStep::failed;
    }
    queue_read(connection, vectors, planned);
    return SendStep::pending;
  }
  bool closing = !exchange.keep_alive || _loop.stopping;
  if (send.records_done && closing && !tls.close_notify_sent) {
    tls.close_notify_sent = tls.session.append_close_notify();  // else the closer sends it
  }
  tls.session.seal_open();
  if (!tls.session.healthy()) {
    return SendStep::failed;
  }
  if (!tls.session.output().empty()) {
    queue_send(connection);
    return SendStep::pending;
  }
  assert(send.records_done);  // a lent buffer holds at least one record
  _buffers.take_back(tls);
  return SendStep::done;
}

void TlsSender::queue_read(Connection& connection, unsigned vectors, uint32_t planned) {
  Exchange& exchange = *connection.exchange;
  exchange.send.read_asked = planned;
  ++exchange.send.chain_pending;
  io_uring_prep_readv(_ops.queue(connection, Op::tls_read), exchange.served().fd, exchange.space->vectors,
                      vectors, exchange.send.body_offset);
}

// Without MSG_WAITALL: a slow reader's partial sends complete one by one,
// so each is progress the send deadline sees. The last records before a
// plain close go with MSG_MORE, so they leave with the close's FIN in one
// segment, as on cleartext (sender.cc): the client wakes once for the
// response, its close_notify and the FIN.
void TlsSender::queue_send(Connection& connection) {
  TlsConnection& tls = *connection.tls;
  std::string_view output = tls.session.output();
  tls.send_bytes = static_cast<uint32_t>(output.size());
  ++connection.exchange->send.chain_pending;
  bool fin_follows = connection.exchange->send.records_done && client_closes_cleanly(connection) &&
                     !tls.session.has_input();
  io_uring_prep_send(_ops.queue(connection, Op::tls_send), connection.fd, output.data(), output.size(),
                     MSG_NOSIGNAL | (fin_follows ? MSG_MORE : 0));
}

void TlsSender::progress(Connection& connection) {
  _connections.set_timer(connection, TimerKind::send, _loop.now_ms + _config.send_timeout_ms);
}

SendStep TlsSender::on_read(Connection& connection, int result) {
  SendProgress& send = connection.exchange->send;
  assert(send.chain_pending > 0);
  --send.chain_pending;
  if (connection.state != ConnectionState::sending) {
    return SendStep::pending;
  }
  if (result < 0) {
    return SendStep::failed;
  }
  if (result == 0) {
    send.file_ended_early = true;  // truncated since the STATX
    return SendStep::file_shrank;
  }
  assert(static_cast<uint32_t>(result) <= send.read_asked);
  took_from_file(connection, static_cast<uint32_t>(result));
  progress(connection);
  return fill(connection);
}

void TlsSender::took_from_file(Connection& connection, uint32_t got) {
  SendProgress& send = connection.exchange->send;
  connection.tls->session.after_read(got);
  send.body_offset += got;
  send.body_remaining -= got;
  send.body_in_records += got;
}

SendStep TlsSender::on_sent(Connection& connection, int result) {
  Exchange& exchange = *connection.exchange;
  SendProgress& send = exchange.send;
  assert(send.chain_pending > 0);
  --send.chain_pending;
  if (connection.state != ConnectionState::sending) {
    return SendStep::pending;
  }
  TlsConnection& tls = *connection.tls;
  if (result <= 0) {
    send.peer_left = result == -EPIPE || result == -ECONNRESET;
    return SendStep::failed;
  }
  send.bytes_out = true;
  tls.session.consume_output(static_cast<size_t>(result));
  progress(connection);
  if (!tls.session.output().empty()) {
    queue_send(connection);  // the rest of a short send
    return SendStep::pending;
  }
  exchange.body_bytes_sent += send.body_in_records;  // all of it is out
  send.body_in_records = 0;
  return fill(connection);
}

}  // namespace ringhttpd
