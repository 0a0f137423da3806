#pragma once
// How response bytes reach a plain TCP socket: SEND and SENDMSG for bytes
// in memory, SPLICE file -> pipe -> socket for file bytes, POLL for
// writability when the socket was full; and what each completion says of
// the chain it belongs to. The sender (sender.h) decides which bytes go
// next; this decides how they go. It is the seam where encrypted
// connections plug in: a TLS transport encrypts the bytes it is given, and
// reads file chunks into buffers instead of splicing them.
//
// A linked head SEND needs MSG_WAITALL: without it a partial SEND still
// lets the link go on, and body bytes would overtake the rest of the head
// (an 8 MiB SEND to a slow reader completes whole before its linked splice
// runs). A splice that moves fewer bytes than asked breaks its link (the
// next op gets -ECANCELED), and a non-blocking socket answers a full send
// buffer with a short count or -EAGAIN; so each chain's results are
// collected, and the sender goes on when the chain's last CQE is in
// (uring/KERNEL.md, "Short splices break links").

#include <cstdint>

#include "src/connection.h"
#include "src/op.h"
#include "uring/pipe_pool.h"

namespace ringhttpd {

class SpliceTransport {
 public:
  SpliceTransport(OpQueue& ops, uring::PipePool& pipes) : _ops(ops), _pipes(pipes) {}
  SpliceTransport(const SpliceTransport&) = delete;
  SpliceTransport& operator=(const SpliceTransport&) = delete;

  // A pipe for a file body of `body_bytes`; false at the pool's bound or
  // when none can be made.
  bool take_pipe(Exchange& exchange, uint64_t body_bytes);
  // The exchange's pipe, empty, back to the pool for another chain.
  void give_back_pipe(Exchange& exchange);
  bool pipe_available() const { return _pipes.available(); }
  size_t pipes_in_use() const { return _pipes.in_use(); }
  // Half the pool or more is lent: chunks are sized to what each socket
  // can take, so every chain drains its pipe and gives it back.
  bool pipes_scarce() const { return _pipes.in_use() * 2 >= _pipes.most(); }
  // Body bytes one splice can put in the socket's send buffer now without
  // coming back short: 5/8 of the room (SO_MEMINFO: SNDBUF less
  // WMEM_QUEUED, the kernel's own test of writability). Spliced pages are
  // charged more than their bytes: measured on 6.18 loopback, 1 MiB spliced
  // into an idle socket queued 1,468,352 bytes (1.40x), and a splice of
  // the whole room came back short at every chunk size from 8 KiB to 1 MiB,
  // leaving bytes in the pipe that a stalled reader then held; at 5/8 none
  // came back short, and as many bytes went before the buffer was full.
  // UINT32_MAX when the kernel cannot say.
  static uint32_t socket_room(const Connection& connection);
  // POLLOUT alone: the next chunk waits, holding no pipe, until the socket
  // can take bytes.
  void queue_writable(Connection& connection);
  // SEND of `length` bytes at `bytes` (scratch, or the batch); `linked`
  // when what is queued next (a file chunk) must wait for it.
  void queue_bytes(Connection& connection, const char* bytes, uint32_t length, int flags, bool linked);
  // SENDMSG of what is left of exchange.space->message (send.message_left
  // bytes). Without MSG_WAITALL: a slow reader's partial sends complete
  // one by one, so each is progress the send deadline sees.
  void queue_message(Connection& connection, int flags);
  // Room for a piece and the file chunk linked to it, in one submission.
  void reserve_piece_and_chunk() { _ops.reserve(3); }
  // Up to a pipe's worth of the file from send.body_offset: SPLICE file ->
  // pipe linked to SPLICE pipe -> socket. `more`: bytes follow the range.
  void queue_file_chunk(Connection& connection, int file_fd, bool more);
  // What a short SPLICE out left in the pipe, after POLLOUT when the
  // socket was full.
  void queue_pipe_flush(Connection& connection, bool more);

  // Each completion counted into the exchange's SendProgress; true when it
  // was the last CQE due from the chain.
  bool on_sent(Exchange& exchange, int result);
  bool on_message_sent(Exchange& exchange, int result);
  bool on_spliced_in(Exchange& exchange, int result);
  bool on_spliced_out(Exchange& exchange, int result);
  bool on_writable(Exchange& exchange, int result);

 private:
  static bool chain_done(SendProgress& send) {
    assert(send.chain_pending > 0);
    return --send.chain_pending == 0;
  }

  OpQueue& _ops;
  uring::PipePool& _pipes;
};

}  // namespace ringhttpd
