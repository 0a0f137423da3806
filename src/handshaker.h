#pragma once
// TLS connections from accept to the end of their handshake: what the
// client sends is received into a provided buffer (a silent client holds no
// memory) and handed to its session, each flight the session makes is sent
// from a lent output buffer, all under the handshake deadline
// (--tls-handshake-timeout). When the handshake is over, its last output
// (the session ticket) is sent, the records go to the kernel when it can
// take them (kTLS), and the connection goes on to its first request, which
// may have come with the client's Finished.
//
// A failed handshake is counted by reason and closed: with its alert if
// the session made one, and a lingering close so the client reads it; a
// cleartext HTTP request gets a cleartext 400 saying the port speaks HTTPS
// (as nginx answers). None is an access log line: no request was made.

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "conf/config.h"
#include "src/closer.h"
#include "src/connection_table.h"
#include "src/loop_state.h"
#include "src/op.h"
#include "src/tls_buffers.h"
#include "src/worker_stats.h"
#include "uring/buffer_ring.h"

namespace ringhttpd {

enum class HandshakeStep : uint8_t {
  pending,  // a RECV or SEND is queued, or the connection is closing
  done,     // the handshake is over: the first request is next
};

class Handshaker {
 public:
  Handshaker(unsigned worker, const Config& config, const LoopState& loop, OpQueue& ops,
             uring::BufferRing& recv_buffers, ConnectionTable& connections, TlsBuffers& buffers,
             Closer& closer, WorkerStats& stats);
  Handshaker(const Handshaker&) = delete;
  Handshaker& operator=(const Handshaker&) = delete;

  // A connection accepted on a TLS listener: its session under `contexts`,
  // the deadline, the first RECV. `kernel_records`: hand the records to
  // the kernel once the handshake is over.
  void start(Connection& connection, std::shared_ptr<const tls::ContextSet> contexts,
             bool kernel_records, int64_t deadline_ms);
  HandshakeStep on_recv(Connection& connection, const io_uring_cqe& cqe);
  HandshakeStep on_sent(Connection& connection, int result);
  // The handshake deadline passed.
  void expire(Connection& connection);
  // The connection's TLS state goes, with its buffer, once its socket closed.
  void release(Connection& connection);

 private:
  HandshakeStep drive(Connection& connection);
  HandshakeStep finish(Connection& connection);
  void fail(Connection& connection, tls::Failure failure);
  void arm_recv(Connection& connection);
  void queue_send(Connection& connection, const char* bytes, uint32_t length);
  bool hand_records_to_kernel(Connection& connection);

  unsigned _worker;
  const Config& _config;
  const LoopState& _loop;
  OpQueue& _ops;
  uring::BufferRing& _recv_buffers;
  ConnectionTable& _connections;
  TlsBuffers& _buffers;
  Closer& _closer;
  WorkerStats& _stats;
  bool _kernel_refusal_logged = false;
};

}  // namespace ringhttpd
