#include "src/acceptor.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "src/log.h"

namespace ringhttpd {
namespace {

// accept(2) reports some errors of the connection being accepted (it was
// reset, or its network failed); the next connection in the queue is not
// affected, so accepting goes on at once. A client can cause these at will,
// so they are not logged at the default level.
bool accept_error_names_one_connection(int error) {
  switch (error) {
    case ECONNABORTED:
    case EPROTO:
    case EPERM:  // a firewall or LSM refused this connection
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
    case EINTR:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

}  // namespace

Acceptor::Acceptor(unsigned worker, const Config& config, const LoopState& loop, OpQueue& ops,
                   std::vector<int> listeners, std::vector<bool> tls, bool owns_listeners,
                   ConnectionTable& connections, Closer& closer, Input& input,
                   Handshaker& handshaker, const WorkerTls& worker_tls, const AccessLogWriter& log)
    : _worker(worker),
      _config(config),
      _loop(loop),
      _ops(ops),
      _listeners(std::move(listeners)),
      _armed(_listeners.size(), false),
      _tls(std::move(tls)),
      _owns_listeners(owns_listeners),
      _connections(connections),
      _closer(closer),
      _input(input),
      _handshaker(handshaker),
      _worker_tls(worker_tls),
      _log(log) {
  _tls.resize(_listeners.size(), false);
}

Acceptor::~Acceptor() {
  for (int fd : _listeners) {
    if (_owns_listeners && fd >= 0) {
      close(fd);
    }
  }
}

void Acceptor::start() {
  for (uint32_t listener = 0; listener < _listeners.size(); ++listener) {
    arm(listener);
  }
}

void Acceptor::arm(uint32_t listener) {
  io_uring_sqe* sqe = _ops.queue_detached(Op::accept, listener);
  io_uring_prep_multishot_accept(sqe, _listeners[listener], nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
  _armed[listener] = true;
}

void Acceptor::on_accept(uint32_t listener, const io_uring_cqe& cqe) {
  // Multishot accept ends (no F_MORE) on errors such as ENFILE and on CQ
  // overflow: always re-arm when F_MORE is missing (uring/KERNEL.md,
  // "Multishot ends").
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    _armed[listener] = false;
  }
  if (cqe.res >= 0) {
    admit(cqe.res, _tls[listener]);  // also after the stop began: the kernel accepted it for us
  } else if (accept_error_names_one_connection(-cqe.res)) {
    log_info("ringhttpd: worker %u: accept: %s", _worker, strerror(-cqe.res));
  } else if (cqe.res != -ECANCELED) {
    // Out of descriptors or memory, or a listener that no longer listens
    // (EINVAL after a shutdown() of the socket): re-arming at once would
    // fail again at once. Measured before this pause: 300,000 log lines
    // and a spinning worker in two seconds. One line, one try per tick.
    if (!_backoff) {
      log_warn("ringhttpd: worker %u: accept: %s; pausing accepts for a tick", _worker,
               strerror(-cqe.res));
    }
    _backoff = true;
  }
  if (_armed[listener]) {
    return;
  }
  if (_stopped) {
    finish(listener);
  } else if (!_backoff) {
    arm(listener);
  }
}

void Acceptor::admit(int fd, bool tls) {
  ConnectionState first = tls ? ConnectionState::handshaking : ConnectionState::reading;
  Connection* connection = _connections.open(fd, first);
  if (connection == nullptr) {
    // Full: close the longest-idle keep-alive connection to admit this one,
    // as mathopd and nginx do.
    if (Connection* idle = _connections.longest_idle()) {
      _connections.mark_clobbered(*idle);
      _closer.abort(*idle);
      connection = _connections.open(fd, first);
    }
  }
  if (connection == nullptr) {
    // Full, and every connection is busy or still owed its first response.
    ++_refused_total;
    if (!_refusal_logged) {
      log_warn("ringhttpd: worker %u: %u connections, none idle: refusing new ones", _worker,
               _connections.open_count());
      _refusal_logged = true;
    }
    io_uring_prep_close(_ops.queue_detached(Op::close_file), fd);
    return;
  }
  if (_log.enabled() || !_config.metrics_path.empty()) {
    // Multishot accept cannot return addresses, so one getpeername per
    // connection, and only when a log or --metrics-allow needs it.
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      connection->peer.set(address);
    }
  }
  // Once accepting has ended, a connection that sends nothing is not
  // allowed to hold the stop for --shutdown-timeout.
  uint32_t first_wait_ms = tls ? _config.tls_handshake_timeout_ms : _config.header_timeout_ms;
  int64_t wait_ms = _stopped ? _loop.stop_grace_ms(first_wait_ms) : first_wait_ms;
  if (tls) {
    _handshaker.start(*connection, _worker_tls.contexts, _worker_tls.kernel_records,
                      _loop.now_ms + wait_ms);
    return;
  }
  _connections.set_timer(*connection, TimerKind::header, _loop.now_ms + wait_ms);
  _input.arm(*connection);
}

void Acceptor::on_tick() {
  _refusal_logged = false;
  if (_backoff && !_stopped) {
    _backoff = false;
    for (uint32_t listener = 0; listener < _listeners.size(); ++listener) {
      if (!_armed[listener]) {
        arm(listener);
      }
    }
  }
}

void Acceptor::stop() {
  _stopped = true;
  for (uint32_t listener = 0; listener < _listeners.size(); ++listener) {
    if (_armed[listener]) {
      // Its last CQE (-ECANCELED, no F_MORE) finishes the listener.
      io_uring_prep_cancel64(_ops.queue_detached(Op::cancel_accept),
                             uring::encode({static_cast<uint8_t>(Op::accept), 0, listener}), 0);
    } else {
      finish(listener);  // paused by a back-off
    }
  }
}

bool Acceptor::finished() const {
  for (bool armed : _armed) {
    if (armed) {
      return false;
    }
  }
  return _stopped;
}

// Connections the kernel completed wait in the listener's queue; closing
// it would reset them. Taken first (the socket is non-blocking, so this
// ends at EAGAIN), they get their responses; what arrives after the close
// is refused, as for any port nobody listens on.
void Acceptor::finish(uint32_t listener) {
  int fd = _listeners[listener];
  if (!_owns_listeners || fd < 0) {
    return;
  }
  for (;;) {
    int accepted = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (accepted >= 0) {
      admit(accepted, _tls[listener]);
    } else if (!accept_error_names_one_connection(errno) || errno == EAGAIN) {
      break;
    }
  }
  close(fd);
  _listeners[listener] = -1;
}

}  // namespace ringhttpd
