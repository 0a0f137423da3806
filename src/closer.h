#pragma once
// How connections end: abort (cancel what is queued, close when nothing is
// in flight), reset (the same with an RST), and after a last response either
// a plain close or a lingering one (SHUT_WR, drain input, close). A TLS
// connection sends its close_notify alert first, unless its last response
// carried it (tls_sender.h); an aborted one does not.

#include <cstdint>

#include "conf/config.h"
#include "src/access_log_writer.h"
#include "src/connection_table.h"
#include "src/exchange_pool.h"
#include "src/loop_state.h"
#include "src/op.h"
#include "uring/buffer_ring.h"

namespace ringhttpd {

class Closer {
 public:
  Closer(const Config& config, const LoopState& loop, OpQueue& ops, ConnectionTable& connections,
         ExchangePool& exchanges, AccessLogWriter& log, uring::BufferRing& recv_buffers);
  Closer(const Closer&) = delete;
  Closer& operator=(const Closer&) = delete;

  // Closes now. A response being sent is cut, and logged with what was
  // sent; every queued operation naming the socket is cancelled, and the
  // CLOSE waits for the last completion (a queued splice resolves its fd
  // only when it runs: uring/KERNEL.md, "Splices resolve descriptors late").
  void abort(Connection& connection);
  // A deadline passed (connection_table.h): a reader that stopped reading
  // is reset (the close sends RST); a head that did not arrive in time is
  // logged as 408 (as nginx does) and closed; anything else is closed.
  void expire(Connection& connection, TimerKind kind);
  // The last response is out: a plain close when the client closes cleanly,
  // else a lingering close.
  void close_after_response(Connection& connection);
  // SHUT_WR, then input drained until the client closes (bounded).
  void linger(Connection& connection);
  // After each completion of a connection: an aborting one closes once
  // nothing of it is in flight.
  void close_when_quiet(Connection& connection) {
    if (connection.state == ConnectionState::aborting && connection.in_flight == 0) {
      queue_close(connection);
    }
  }

  void on_shutdown(Connection& connection, int result);
  void on_drain(Connection& connection, int result);

 private:
  void reset(Connection& connection);
  // A TLS connection's close_notify, hard-linked before what closes it.
  void queue_close_notify(Connection& connection);
  void arm_drain(Connection& connection);
  void queue_close(Connection& connection);

  const Config& _config;
  const LoopState& _loop;
  OpQueue& _ops;
  ConnectionTable& _connections;
  ExchangePool& _exchanges;
  AccessLogWriter& _log;
  uring::BufferRing& _recv_buffers;
};

}  // namespace ringhttpd
