#include "src/sender.h"

#include <sys/socket.h>

#include "src/response_batch.h"

namespace ringhttpd {
namespace {

// When a plain close follows the response, its last bytes go out with
// MSG_MORE: TCP holds the final partial segment for the few microseconds
// until close() sends it with FIN in the same segment (9 segments per
// Connection: close exchange instead of 10, as nginx's corked close).
// Never on a connection that stays open: there MSG_MORE on the last bytes
// holds them back for 200 ms (see more_follows_range).
// Not on a connection whose records the kernel seals: its tls ULP keeps
// the last record open for the MSG_MORE, and a close pushes an open record
// only when a writer waits for it, else drops it (src/tls/OPENSSL.md,
// "The kernel's tls ULP").
int fin_follows_flag(const Connection& connection) {
  return client_closes_cleanly(connection) && connection.tls == nullptr ? MSG_MORE : 0;
}

// The kernel's tls ULP refuses a send with MSG_WAITALL (EOPNOTSUPP: it
// takes MSG_MORE, MSG_DONTWAIT, MSG_NOSIGNAL and MSG_EOR only), which a
// linked SEND needs (splice_transport.h). So on such a connection a piece
// goes alone by SENDMSG, whose short sends go on from where they stopped,
// and the range's first chunk is queued once it is out.
bool pieces_by_message(const Connection& connection) { return connection.tls != nullptr; }

// A piece as the whole of exchange.space->message.
void set_message(Exchange& exchange, std::string_view bytes) {
  exchange.space->vectors[0] = {const_cast<char*>(bytes.data()), bytes.size()};
  msghdr& message = exchange.space->message;
  message = {};
  message.msg_iov = exchange.space->vectors;
  message.msg_iovlen = 1;
  exchange.send.message_left = static_cast<uint32_t>(bytes.size());
}

// Where the first piece of a response goes out from: scratch, or, when
// batched responses wait (response_batch.h), the batch with the piece
// appended, so they go first and in order.
std::string_view first_piece(Exchange& exchange) {
  const SendPlan& plan = exchange.plan();
  const char* piece = exchange.scratch;
  uint32_t length = plan.piece_bytes(0);
  if (exchange.batch_length == 0) {
    return {piece, length};
  }
  append_to_batch(exchange, piece, length);
  return {exchange.batch, exchange.batch_length};
}

}  // namespace

SendStep Sender::start(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  const SendPlan& plan = exchange.plan();
  assert(exchange.send.chain_pending == 0);
  exchange.status = plan.status;
  connection.enter(ConnectionState::sending);
  _connections.set_timer(connection, TimerKind::send, _loop.now_ms + _config.send_timeout_ms);
  if (plan.range_count == 0) {
    // The head is the whole response (HEAD, an empty file, an error).
    exchange.body_bytes_sent = plan.body_bytes;
    exchange.send.range_index = 0;
    exchange.send.closing_piece_sent = true;
    std::string_view head = first_piece(exchange);
    if (pieces_by_message(connection)) {
      set_message(exchange, head);
      _transport.queue_message(connection, fin_follows_flag(connection));
      return SendStep::pending;
    }
    _transport.queue_bytes(connection, head.data(), static_cast<uint32_t>(head.size()),
                           fin_follows_flag(connection), false);
    return SendStep::pending;
  }
  if (exchange.served().body_ready) {
    send_from_memory(connection);
    return SendStep::pending;
  }
  return queue_next_piece(connection);
}

// Warm small file: head, parts and body in one SENDMSG, no io-wq hop. The
// entry's reference keeps the body alive until the CQE.
void Sender::send_from_memory(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  const SendPlan& plan = exchange.plan();
  const char* body = exchange.served().body.get();
  size_t count = 0;
  size_t total = 0;
  plan.for_each_span(exchange.scratch, body, [&](const char* bytes, size_t length) {
    if (count == 0) {  // the head: first, and never empty
      std::string_view head = first_piece(exchange);
      bytes = head.data();
      length = head.size();
    }
    exchange.space->vectors[count++] = {const_cast<char*>(bytes), length};
    total += length;
  });
  msghdr& message = exchange.space->message;
  message = {};
  message.msg_iov = exchange.space->vectors;
  message.msg_iovlen = count;
  exchange.body_bytes_sent = plan.content_length;
  exchange.send.range_index = plan.range_count;
  exchange.send.closing_piece_sent = true;
  exchange.send.message_left = static_cast<uint32_t>(total);
  _transport.queue_message(connection, fin_follows_flag(connection));
}

// Does anything follow the range being spliced: another range, a
// non-empty closing piece, or a FIN? Only then (or while the range itself
// has more) may a splice say SPLICE_F_MORE (MSG_MORE): on the last bytes of
// a response it makes TCP hold the final partial segment back, waiting for
// data that never comes (measured: 100 KiB responses fell from 19k to 2k
// requests/s).
bool Sender::more_follows_range(const Connection& connection) const {
  const Exchange& exchange = *connection.exchange;
  const SendPlan& plan = exchange.plan();
  return exchange.send.range_index < plan.range_count || plan.piece_bytes(plan.range_count) > 0 ||
         fin_follows_flag(connection) != 0;
}

// The piece of scratch before the next range, linked to that range's first
// splices; after the last range, the closing piece if there is one.
SendStep Sender::queue_next_piece(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  const SendPlan& plan = exchange.plan();
  SendProgress& send = exchange.send;
  uint8_t k = send.range_index;
  uint32_t piece_bytes = plan.piece_bytes(k);
  bool range_follows = k < plan.range_count;
  if (!range_follows) {
    send.closing_piece_sent = true;
    if (piece_bytes == 0) {
      return SendStep::done;  // a single range: nothing after its bytes
    }
  }
  if (range_follows) {
    // The piece goes linked to the range's first chunk: both wait for a
    // pipe, and for room when pipes are scarce. Nothing is queued until
    // then; a resumed wait comes back here.
    switch (ready_for_chunk(connection)) {
      case ChunkReady::ready:
        break;
      case ChunkReady::waiting:
        return SendStep::pending;
      case ChunkReady::no_pipe:  // a 503 while no byte went; after a range, a cut
        return k == 0 ? SendStep::no_pipe : SendStep::failed;
    }
  }
  _transport.reserve_piece_and_chunk();
  std::string_view piece;
  if (piece_bytes > 0) {
    piece = k == 0 ? first_piece(exchange)
                   : std::string_view(exchange.scratch + plan.piece_start(k), piece_bytes);
  }
  int piece_flags = range_follows ? MSG_MORE : fin_follows_flag(connection);
  if (range_follows) {
    send.body_offset = plan.ranges[k].first;
    send.body_remaining = plan.ranges[k].length;
    send.range_index = static_cast<uint8_t>(k + 1);
  }
  if (pieces_by_message(connection)) {
    if (!piece.empty()) {
      set_message(exchange, piece);
      _transport.queue_message(connection, piece_flags);
      return SendStep::pending;  // advance() queues the range's first chunk once it is out
    }
    if (!range_follows) {
      return SendStep::done;
    }
    _transport.queue_file_chunk(connection, exchange.served().fd, more_follows_range(connection));
    return SendStep::pending;
  }
  if (!piece.empty()) {
    _transport.queue_bytes(connection, piece.data(), static_cast<uint32_t>(piece.size()), piece_flags,
                           range_follows);
  }
  if (range_follows) {
    _transport.queue_file_chunk(connection, exchange.served().fd, more_follows_range(connection));
  }
  return SendStep::pending;
}

// A chain's completions come while the exchange is held: it goes back
// only after the last of them (closer.cc, exchange_flow.cc).
SendStep Sender::on_sent(Connection& connection, int result) {
  return after_chain(connection, _transport.on_sent(exchange_of(connection), result));
}

SendStep Sender::on_message_sent(Connection& connection, int result) {
  return after_chain(connection, _transport.on_message_sent(exchange_of(connection), result));
}

SendStep Sender::on_spliced_in(Connection& connection, int result) {
  return after_chain(connection, _transport.on_spliced_in(exchange_of(connection), result));
}

SendStep Sender::on_spliced_out(Connection& connection, int result) {
  return after_chain(connection, _transport.on_spliced_out(exchange_of(connection), result));
}

SendStep Sender::on_writable(Connection& connection, int result) {
  return after_chain(connection, _transport.on_writable(exchange_of(connection), result));
}

SendStep Sender::after_chain(Connection& connection, bool chain_done) {
  if (!chain_done || connection.state != ConnectionState::sending) {
    return SendStep::pending;
  }
  // Progress: the deadline moves. A reader that stops reading leaves a
  // POLLOUT pending until --send-timeout passes with no completion.
  _connections.set_timer(connection, TimerKind::send, _loop.now_ms + _config.send_timeout_ms);
  return advance(connection);
}

SendStep Sender::advance(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  SendProgress& send = exchange.send;
  if (send.chain_failed) {
    return SendStep::failed;
  }
  if (send.message_left > 0) {
    _transport.queue_message(connection, fin_follows_flag(connection));  // the rest, from memory
    return SendStep::pending;
  }
  if (send.pipe_bytes > 0) {
    _transport.queue_pipe_flush(connection,
                                send.body_remaining > 0 || more_follows_range(connection));
    return SendStep::pending;  // the pipe holds bytes: it stays
  }
  // The pipe is empty: back to the pool, unless the next chunk follows at
  // once and no response waits for one.
  bool chunk_follows = send.body_remaining > 0 && !send.file_ended_early;
  if (send.pipe != nullptr && (!chunk_follows || !_pipe_waiters.empty())) {
    _transport.give_back_pipe(exchange);
  }
  if (send.file_ended_early) {
    return SendStep::file_shrank;
  }
  if (send.body_remaining > 0) {
    return queue_chunk(connection);
  }
  if (!send.closing_piece_sent) {
    return queue_next_piece(connection);
  }
  return SendStep::done;
}

SendStep Sender::queue_chunk(Connection& connection) {
  switch (ready_for_chunk(connection)) {
    case ChunkReady::ready:
      break;
    case ChunkReady::waiting:
      return SendStep::pending;
    case ChunkReady::no_pipe:
      return SendStep::failed;  // bytes of the response went: it can only be cut
  }
  _transport.queue_file_chunk(connection, connection.exchange->served().fd,
                              more_follows_range(connection));
  return SendStep::pending;
}

Sender::ChunkReady Sender::ready_for_chunk(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  SendProgress& send = exchange.send;
  send.chunk_limit = UINT32_MAX;
  if (_transport.pipes_scarce() || !_pipe_waiters.empty()) {
    send.chunk_limit = SpliceTransport::socket_room(connection);
    if (send.chunk_limit == 0) {
      if (send.pipe != nullptr) {
        _transport.give_back_pipe(exchange);  // empty: the wait holds none
      }
      _transport.queue_writable(connection);
      return ChunkReady::waiting;
    }
  }
  if (send.pipe != nullptr) {
    return ChunkReady::ready;
  }
  // Behind anyone already waiting, first come first served.
  bool behind_others = !_pipe_waiters.empty() && !send.first_in_line;
  send.first_in_line = false;
  if (!behind_others) {
    if (_transport.take_pipe(exchange, exchange.plan().content_length)) {
      return ChunkReady::ready;
    }
    if (_transport.pipes_in_use() == 0) {
      return ChunkReady::no_pipe;  // none lent, and none could be made: descriptors ran out
    }
  }
  wait_for_pipe(connection);
  return ChunkReady::waiting;
}

void Sender::wait_for_pipe(Connection& connection) {
  assert(!connection.exchange->send.waiting_for_pipe);
  connection.exchange->send.waiting_for_pipe = true;
  ++_pipe_waits_total;
  _pipe_waiters.emplace_back(connection.index, connection.generation);
}

Connection* Sender::next_pipe_waiter() {
  while (!_pipe_waiters.empty() && _transport.pipe_available()) {
    auto [slot, generation] = _pipe_waiters.front();
    _pipe_waiters.pop_front();
    Connection* connection = _connections.find(slot, generation);
    // One that was closed meanwhile (its deadline, a reset, the stop) has
    // no exchange waiting any more.
    if (connection != nullptr && connection->state == ConnectionState::sending &&
        connection->exchange != nullptr && connection->exchange->send.waiting_for_pipe) {
      connection->exchange->send.waiting_for_pipe = false;
      connection->exchange->send.first_in_line = true;
      return connection;
    }
  }
  return nullptr;
}

// It waited at a chunk or at a range's first piece, holding no pipe and
// with nothing in flight: advance() goes on from there.
SendStep Sender::resume(Connection& connection) {
  assert(connection.exchange->send.pipe == nullptr && connection.exchange->send.chain_pending == 0);
  // Waiting for a pipe is not the client's doing: its deadline starts over.
  _connections.set_timer(connection, TimerKind::send, _loop.now_ms + _config.send_timeout_ms);
  return advance(connection);
}

}  // namespace ringhttpd
