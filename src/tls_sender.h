#pragma once
// Puts a planned response (exchange.plan) on the wire of a TLS connection
// whose records are sealed in user space. The plan's bytes go into records
// in a lent output buffer (tls_buffers.h) in their order: batched responses
// first, then each piece of scratch and each range of the body. Bytes in
// memory are copied in; file bytes are read straight into the records'
// payloads (from the page cache with one non-blocking preadv2 when they are
// there, else by a READV through the ring) and sealed where they lie. A full buffer is sent with
// one SEND, and filling goes on when it is out, so a connection holds at
// most one buffer, and a slow reader holds it while it reads.
//
// The last response before a close carries the close_notify alert in its
// records. A KeyUpdate the client asked for (TLS 1.3) goes before the
// response's records. A response that makes no progress for --send-timeout
// is cut, as on cleartext (sender.h).
//
// Where the kernel seals the records (kTLS), the cleartext sender serves.

#include <cstdint>

#include "conf/config.h"
#include "src/connection_table.h"
#include "src/loop_state.h"
#include "src/op.h"
#include "src/sender.h"
#include "src/tls_buffers.h"

namespace ringhttpd {

class TlsSender {
 public:
  TlsSender(const Config& config, const LoopState& loop, OpQueue& ops, ConnectionTable& connections,
            TlsBuffers& buffers)
      : _config(config), _loop(loop), _ops(ops), _connections(connections), _buffers(buffers) {}
  TlsSender(const TlsSender&) = delete;
  TlsSender& operator=(const TlsSender&) = delete;

  SendStep start(Connection& connection);
  SendStep on_read(Connection& connection, int result);
  SendStep on_sent(Connection& connection, int result);

 private:
  SendStep fill(Connection& connection);
  bool append(Connection& connection, const char* bytes, uint32_t length, uint32_t& done);
  void queue_read(Connection& connection, unsigned vectors, uint32_t planned);
  // `got` bytes of the file came into the planned records.
  void took_from_file(Connection& connection, uint32_t got);
  void queue_send(Connection& connection);
  void progress(Connection& connection);

  const Config& _config;
  const LoopState& _loop;
  OpQueue& _ops;
  ConnectionTable& _connections;
  TlsBuffers& _buffers;
};

}  // namespace ringhttpd
