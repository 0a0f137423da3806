#include "src/handshaker.h"

#include <linux/tls.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cassert>
#include <cstring>
#include <string_view>

#include "src/log.h"

namespace ringhttpd {
namespace {

constexpr std::string_view plain_http_answer =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 45\r\n"
    "Connection: close\r\n"
    "\r\n"
    "This port speaks HTTPS: use an https:// URL.\n";

}  // namespace

Handshaker::Handshaker(unsigned worker, const Config& config, const LoopState& loop, OpQueue& ops,
                       uring::BufferRing& recv_buffers, ConnectionTable& connections,
                       TlsBuffers& buffers, Closer& closer, WorkerStats& stats)
    : _worker(worker),
      _config(config),
      _loop(loop),
      _ops(ops),
      _recv_buffers(recv_buffers),
      _connections(connections),
      _buffers(buffers),
      _closer(closer),
      _stats(stats) {
  static_assert(plain_http_answer.size() - plain_http_answer.find("\r\n\r\n") - 4 == 45);
}

void Handshaker::start(Connection& connection, std::shared_ptr<const tls::ContextSet> contexts,
                       bool kernel_records, int64_t deadline_ms) {
  assert(connection.tls == nullptr && connection.state == ConnectionState::handshaking);
  connection.tls = new TlsConnection(std::move(contexts));
  connection.tls->kernel_wanted = kernel_records;
  _connections.set_timer(connection, TimerKind::handshake, deadline_ms);
  arm_recv(connection);
}

void Handshaker::release(Connection& connection) {
  if (connection.tls == nullptr) {
    return;
  }
  TlsConnection& tls = *connection.tls;
  if (tls.buffer != nullptr) {
    // Whatever is left in it was never sent (the connection was cut).
    tls.session.seal_open();
    tls.session.consume_output(tls.session.output().size());
    _buffers.take_back(tls);
  }
  delete connection.tls;
  connection.tls = nullptr;
}

// Into a provided buffer: a client that sends nothing holds no memory.
void Handshaker::arm_recv(Connection& connection) {
  io_uring_sqe* sqe = _ops.queue(connection, Op::handshake_recv);
  io_uring_prep_recv(sqe, connection.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = _recv_buffers.group_id();
}

void Handshaker::queue_send(Connection& connection, const char* bytes, uint32_t length) {
  connection.tls->send_bytes = length;
  io_uring_prep_send(_ops.queue(connection, Op::handshake_send), connection.fd, bytes, length,
                     MSG_NOSIGNAL);
}

HandshakeStep Handshaker::on_recv(Connection& connection, const io_uring_cqe& cqe) {
  if (connection.state != ConnectionState::handshaking) {
    return HandshakeStep::pending;  // aborting: its buffer is recycled by the loop
  }
  int result = cqe.res;
  if (result == -ENOBUFS) {
    arm_recv(connection);  // every provided buffer was in use; they come back in this batch
    return HandshakeStep::pending;
  }
  if (result <= 0 || !uring::BufferRing::has_buffer(&cqe)) {
    fail(connection, tls::Failure::closed);
    return HandshakeStep::pending;
  }
  // Read where it lies; what the session leaves is copied before the loop
  // recycles the buffer (drive() keeps it).
  connection.tls->session.feed(_recv_buffers.buffer(uring::BufferRing::buffer_id(&cqe)),
                               static_cast<size_t>(result));
  return drive(connection);
}

HandshakeStep Handshaker::drive(Connection& connection) {
  TlsConnection& tls = *connection.tls;
  _buffers.lend(tls);
  tls.progress = tls.session.handshake();
  tls.session.keep_unread();
  if (tls.progress == tls::Progress::failed) {
    fail(connection, tls.session.failure());
    return HandshakeStep::pending;
  }
  std::string_view output = tls.session.output();
  if (tls.progress == tls::Progress::done && !output.empty() && tls.session.has_input() &&
      !tls.kernel_wanted) {
    // The client's first request came with its Finished: the session
    // ticket waits in the lent buffer and goes out with the response, in
    // one SEND (with the kernel's records it must go first, sealed here).
    return finish(connection);
  }
  if (!output.empty()) {
    queue_send(connection, output.data(), static_cast<uint32_t>(output.size()));
    return HandshakeStep::pending;  // on_sent goes on
  }
  if (tls.progress == tls::Progress::done) {
    return finish(connection);
  }
  _buffers.take_back(tls);  // waiting for the client holds no buffer
  arm_recv(connection);
  return HandshakeStep::pending;
}

HandshakeStep Handshaker::on_sent(Connection& connection, int result) {
  if (connection.state != ConnectionState::handshaking) {
    return HandshakeStep::pending;
  }
  TlsConnection& tls = *connection.tls;
  if (tls.answering_plain_http) {
    _closer.linger(connection);  // the 400 went (or could not): FIN after it
    return HandshakeStep::pending;
  }
  if (result <= 0) {
    if (tls.session.failure() == tls::Failure::none) {
      _stats.tls_failures[static_cast<size_t>(tls::Failure::closed)].fetch_add(1, std::memory_order_relaxed);
    }
    _closer.abort(connection);
    return HandshakeStep::pending;
  }
  tls.session.consume_output(static_cast<size_t>(result));
  std::string_view output = tls.session.output();
  if (!output.empty()) {
    queue_send(connection, output.data(), static_cast<uint32_t>(output.size()));  // the rest
    return HandshakeStep::pending;
  }
  if (tls.session.failure() != tls::Failure::none) {
    _closer.linger(connection);  // the alert is out: the client reads it before the FIN
    return HandshakeStep::pending;
  }
  if (tls.progress == tls::Progress::done) {
    return finish(connection);
  }
  if (tls.progress == tls::Progress::want_output) {
    return drive(connection);  // the flight goes on
  }
  _buffers.take_back(tls);
  arm_recv(connection);
  return HandshakeStep::pending;
}

HandshakeStep Handshaker::finish(Connection& connection) {
  TlsConnection& tls = *connection.tls;
  _stats.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
  if (tls.session.resumed()) {
    _stats.tls_resumed.fetch_add(1, std::memory_order_relaxed);
  }
  if (tls.session.output_idle()) {
    _buffers.take_back(tls);
  }
  if (tls.kernel_wanted && hand_records_to_kernel(connection)) {
    tls.sealing = RecordSealing::kernel;
    _stats.tls_kernel_records.fetch_add(1, std::memory_order_relaxed);
  }
  // From the end of the handshake, the first request has --header-timeout.
  _connections.set_timer(connection, TimerKind::header, _loop.now_ms + _config.header_timeout_ms);
  return HandshakeStep::done;
}

// The keys and the record sequence the sealer reached go to the socket;
// from here the kernel seals what is sent, and file bodies are spliced as
// for cleartext. Every byte sealed here is out (the output is idle).
bool Handshaker::hand_records_to_kernel(Connection& connection) {
  tls::RecordSealer& sealer = connection.tls->session.sealer();
  auto [keys, length] = sealer.kernel_keys();
  if (setsockopt(connection.fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") != 0 ||
      setsockopt(connection.fd, SOL_TLS, TLS_TX, keys, length) != 0) {
    // A client that already left (ENOTCONN after its FIN) says nothing of kTLS.
    bool clients_doing = errno == ENOTCONN || errno == ECONNRESET || errno == EPIPE;
    if (!_kernel_refusal_logged && !clients_doing) {
      log_warn("ringhttpd: worker %u: kTLS refused for %s: %s; sealing in user space", _worker,
               tls::aead_name(sealer.aead()), strerror(errno));
      _kernel_refusal_logged = true;
    }
    return false;
  }
  return true;
}

void Handshaker::fail(Connection& connection, tls::Failure failure) {
  _stats.tls_failures[static_cast<size_t>(failure)].fetch_add(1, std::memory_order_relaxed);
  TlsConnection& tls = *connection.tls;
  if (failure == tls::Failure::plain_http) {
    // What the session made is not for a cleartext client: the 400 instead.
    _buffers.lend(tls);
    tls.session.seal_open();
    tls.session.consume_output(tls.session.output().size());
    std::memcpy(tls.buffer, plain_http_answer.data(), plain_http_answer.size());
    tls.answering_plain_http = true;
    queue_send(connection, tls.buffer, static_cast<uint32_t>(plain_http_answer.size()));
    return;
  }
  std::string_view alert = tls.buffer != nullptr ? tls.session.output() : std::string_view();
  if (!alert.empty() && failure != tls::Failure::closed) {
    queue_send(connection, alert.data(), static_cast<uint32_t>(alert.size()));
    return;
  }
  _closer.abort(connection);
}

void Handshaker::expire(Connection& connection) {
  _stats.tls_failures[static_cast<size_t>(tls::Failure::timeout)].fetch_add(1, std::memory_order_relaxed);
  _closer.abort(connection);
}

}  // namespace ringhttpd
