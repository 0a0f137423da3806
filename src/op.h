#pragma once
// The completion kinds of a worker's ring, the io_uring opcode each one
// uses, and the one way an SQE is taken and tagged with its kind.
//
// user_data is op + generation + slot (uring/user_data.h). The loop's one
// switch (worker.cc) has no default, so a kind added here without a
// handler fails to compile (-Wswitch); the opcode it names is probed at
// start-up and by --check, since required_opcodes() reads this table.

#include <liburing.h>

#include <cassert>
#include <cstdint>
#include <vector>

#include "src/connection.h"
#include "uring/ring.h"
#include "uring/user_data.h"

namespace ringhttpd {

enum class Op : uint8_t {
  // Worker-wide: the slot is a listener number or unused.
  accept,         // multishot ACCEPT on listener `slot`
  tick,           // the periodic TIMEOUT: deadlines, back-off, log flush, stop deadline
  stop,           // POLL on the stop eventfd
  cancel_accept,  // cancel of an accept at stop
  close_file,     // detached CLOSE of a file descriptor
  log_write,      // WRITE of a sealed access log buffer (a pipe or FIFO: PIPE_BUF each)
  log_writev,     // WRITEV of every sealed access log buffer (a regular file)
  // Per connection: slot and generation name it.
  handshake_recv, // TLS: RECV of what the client sends during the handshake
  handshake_send, // TLS: SEND of a handshake flight (or its alert)
  recv,           // RECV of request bytes (TLS: ciphertext, decrypted by input.h)
  revalidate,     // STATX by path of a stale cached file
  open,           // OPENAT2 under the docroot
  statx,          // STATX of a file just opened
  read_body,      // READ of a small file into its cache entry
  send,           // SEND of a head, part headers or a closing delimiter
  send_message,   // SENDMSG of a whole response from memory
  splice_in,      // SPLICE file -> pipe
  splice_out,     // SPLICE pipe -> socket
  poll_out,       // POLL for writability before a splice out
  tls_read,       // TLS: READV of file bytes straight into record payloads
  tls_send,       // TLS: SEND of sealed records
  close_notify,   // TLS: SENDMSG of the close_notify alert before a close
  shutdown,       // SHUTDOWN(SHUT_WR) before lingering
  drain,          // RECV of input dropped while lingering
  cancel,         // cancel of a connection's queued operations
  close_socket,   // CLOSE of the connection's socket
  count,
};

struct OpInfo {
  int opcode;
  bool per_connection;
};

// A switch, not a table: -Wswitch names a kind added without its opcode.
constexpr OpInfo op_info(Op op) {
  switch (op) {
    case Op::accept: return {IORING_OP_ACCEPT, false};
    case Op::tick: return {IORING_OP_TIMEOUT, false};
    case Op::stop: return {IORING_OP_POLL_ADD, false};
    case Op::cancel_accept: return {IORING_OP_ASYNC_CANCEL, false};
    case Op::close_file: return {IORING_OP_CLOSE, false};
    case Op::log_write: return {IORING_OP_WRITE, false};
    case Op::log_writev: return {IORING_OP_WRITEV, false};
    case Op::handshake_recv: return {IORING_OP_RECV, true};
    case Op::handshake_send: return {IORING_OP_SEND, true};
    case Op::recv: return {IORING_OP_RECV, true};
    case Op::revalidate: return {IORING_OP_STATX, true};
    case Op::open: return {IORING_OP_OPENAT2, true};
    case Op::statx: return {IORING_OP_STATX, true};
    case Op::read_body: return {IORING_OP_READ, true};
    case Op::send: return {IORING_OP_SEND, true};
    case Op::send_message: return {IORING_OP_SENDMSG, true};
    case Op::splice_in: return {IORING_OP_SPLICE, true};
    case Op::splice_out: return {IORING_OP_SPLICE, true};
    case Op::poll_out: return {IORING_OP_POLL_ADD, true};
    case Op::tls_read: return {IORING_OP_READV, true};
    case Op::tls_send: return {IORING_OP_SEND, true};
    case Op::close_notify: return {IORING_OP_SENDMSG, true};
    case Op::shutdown: return {IORING_OP_SHUTDOWN, true};
    case Op::drain: return {IORING_OP_RECV, true};
    case Op::cancel: return {IORING_OP_ASYNC_CANCEL, true};
    case Op::close_socket: return {IORING_OP_CLOSE, true};
    case Op::count: break;
  }
  return {-1, false};
}

// Every opcode the server uses, each once: what start-up and --check probe.
inline std::vector<int> required_opcodes() {
  std::vector<int> opcodes;
  for (uint8_t kind = 0; kind < static_cast<uint8_t>(Op::count); ++kind) {
    OpInfo info = op_info(static_cast<Op>(kind));
    bool listed = false;
    for (int opcode : opcodes) {
      listed |= opcode == info.opcode;
    }
    if (!listed) {
      opcodes.push_back(info.opcode);
    }
  }
  return opcodes;
}

// Takes SQEs from the ring (uring::Ring decides what happens when the SQ is
// full) and tags them. Every room queues through this.
class OpQueue {
 public:
  explicit OpQueue(uring::Ring& ring) : _ring(ring) {}
  OpQueue(const OpQueue&) = delete;
  OpQueue& operator=(const OpQueue&) = delete;

  // An SQE on behalf of `connection`, counted in its in_flight until the
  // loop sees its completion; the slot is reused only after the last one.
  io_uring_sqe* queue(Connection& connection, Op op) {
    assert(op_info(op).per_connection);
    assert(connection.in_flight < UINT16_MAX);
    io_uring_sqe* sqe = _ring.get_sqe();
    io_uring_sqe_set_data64(
        sqe, uring::encode({static_cast<uint8_t>(op), connection.generation, connection.index}));
    ++connection.in_flight;
    return sqe;
  }

  // An SQE for a worker-wide operation; `slot` is the listener of an accept.
  io_uring_sqe* queue_detached(Op op, uint32_t slot = no_slot) {
    assert(!op_info(op).per_connection);
    io_uring_sqe* sqe = _ring.get_sqe();
    io_uring_sqe_set_data64(sqe, uring::encode({static_cast<uint8_t>(op), 0, slot}));
    return sqe;
  }

  // Room for a linked chain of `count` SQEs, so it is never split across
  // two submissions half-filled.
  void reserve(unsigned count) { _ring.reserve(count); }
  // Submits what is queued now, before the rest of the batch of completions
  // is handled: after a handler that took long (a TLS handshake's crypto),
  // its SEND goes out at once instead of after every other handler's work.
  void submit_now() { _ring.submit(); }

 private:
  uring::Ring& _ring;
};

}  // namespace ringhttpd
