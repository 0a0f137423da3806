#pragma once
// Puts a planned response (exchange.plan, src/plan/send_plan.h) on the
// wire, through its transport: a head-only plan as one SEND; a body held
// in memory with its head as one SENDMSG; a file body as chains of SEND
// piece -> SPLICE in -> SPLICE out, one pipe-sized chunk per chain, with
// short counts continued. A response that makes no progress for
// --send-timeout is cut (the deadline moves with every finished chain).
//
// A chain borrows a pipe from the worker's bounded pool and gives it back
// when the chain leaves it empty, unless the next chunk follows at once
// and no response waits; at the bound a response waits in a FIFO for the
// next pipe freed. While half the pool or more is lent, each chunk is
// sized to what the socket can take now, and a full socket is waited on
// with POLLOUT before a pipe is taken: a slow or stalled reader then holds
// no pipe while it waits, so it cannot starve the others.

#include <cassert>
#include <cstdint>
#include <deque>
#include <utility>

#include "conf/config.h"
#include "src/connection_table.h"
#include "src/loop_state.h"
#include "src/splice_transport.h"

namespace ringhttpd {

enum class SendStep : uint8_t {
  pending,      // operations are queued; a later completion goes on
  done,         // the whole response is out
  failed,       // the client left, or the socket failed: close
  file_shrank,  // the file ended before the bytes its head promised: close
  no_pipe,      // no pipe could be made (descriptors exhausted): answer 503
};

class Sender {
 public:
  Sender(const Config& config, const LoopState& loop, ConnectionTable& connections,
         SpliceTransport& transport)
      : _config(config), _loop(loop), _connections(connections), _transport(transport) {}
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Starts sending exchange.plan; a body comes from exchange.served().
  SendStep start(Connection& connection);

  SendStep on_sent(Connection& connection, int result);
  SendStep on_message_sent(Connection& connection, int result);
  SendStep on_spliced_in(Connection& connection, int result);
  SendStep on_spliced_out(Connection& connection, int result);
  SendStep on_writable(Connection& connection, int result);

  // The first response waiting for a pipe, taken off the queue, once a
  // pipe is free; null when none waits or no pipe is. Resume it with
  // resume(); the loop asks after each batch of completions.
  Connection* next_pipe_waiter();
  SendStep resume(Connection& connection);
  size_t pipe_waiters() const { return _pipe_waiters.size(); }
  uint64_t pipe_waits_total() const { return _pipe_waits_total; }

 private:
  enum class ChunkReady : uint8_t { ready, waiting, no_pipe };
  // A pipe for the next chunk and, when pipes are scarce, room in the
  // socket; else what was queued to wait for them.
  ChunkReady ready_for_chunk(Connection& connection);
  SendStep queue_chunk(Connection& connection);
  void wait_for_pipe(Connection& connection);
  void send_from_memory(Connection& connection);
  SendStep after_chain(Connection& connection, bool chain_done);
  SendStep advance(Connection& connection);
  SendStep queue_next_piece(Connection& connection);
  bool more_follows_range(const Connection& connection) const;
  static Exchange& exchange_of(Connection& connection) {
    assert(connection.exchange != nullptr);
    return *connection.exchange;
  }

  const Config& _config;
  const LoopState& _loop;
  ConnectionTable& _connections;
  SpliceTransport& _transport;
  std::deque<std::pair<uint32_t, uint32_t>> _pipe_waiters;  // slot, generation
  uint64_t _pipe_waits_total = 0;
};

}  // namespace ringhttpd
