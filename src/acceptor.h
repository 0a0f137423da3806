#pragma once
// Listening: a multishot ACCEPT armed on each of this worker's listeners,
// re-armed when it ends, paused for a tick after an error that would
// repeat at once, and ended at stop; and the admission of each accepted
// connection into the connection table (clobbering the longest-idle one
// when full, refusing when none is idle), with its peer address and its
// header deadline.
//
// At stop nothing the kernel accepted is dropped: a connection whose
// accept completes after the stop began is admitted like any other (with
// a short grace for its first request), and this worker's own listeners
// give up what waits in their queues before they close. Inherited
// listeners (socket activation) are shared and stay open: what waits in
// them is the next instance's.

#include <liburing.h>

#include <cstdint>
#include <vector>

#include "conf/config.h"
#include "src/access_log_writer.h"
#include "src/closer.h"
#include "src/connection_table.h"
#include "src/handshaker.h"
#include "src/input.h"
#include "src/loop_state.h"
#include "src/op.h"

namespace ringhttpd {

// What a worker's new TLS connections start from: the contexts current on
// its last tick, and whether their records go to the kernel.
struct WorkerTls {
  std::shared_ptr<const tls::ContextSet> contexts;
  bool kernel_records = false;
};

class Acceptor {
 public:
  // owns_listeners: the sockets are this worker's alone (its SO_REUSEPORT
  // share of each address), to close when accepting ends. tls[i]: the
  // connections of listener i start with a handshake.
  Acceptor(unsigned worker, const Config& config, const LoopState& loop, OpQueue& ops,
           std::vector<int> listeners, std::vector<bool> tls, bool owns_listeners,
           ConnectionTable& connections, Closer& closer, Input& input, Handshaker& handshaker,
           const WorkerTls& worker_tls, const AccessLogWriter& log);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void start();
  void on_accept(uint32_t listener, const io_uring_cqe& cqe);
  // Accepting resumes after a pause; the refusal line may be said again.
  void on_tick();
  // Accepting ends: the armed accepts are cancelled, and each listener is
  // finished once its accept has ended.
  void stop();
  bool stopped() const { return _stopped; }
  // Stopped, and every accept has ended: no request of the ring holds a
  // listener any more. (A process that exits with one armed leaves the
  // socket listening until the kernel tears the ring down, after the exit.)
  bool finished() const;
  uint64_t refused_total() const { return _refused_total; }

 private:
  void arm(uint32_t listener);
  void admit(int fd, bool tls);
  // An owned listener: what the kernel has accepted is admitted, then it closes.
  void finish(uint32_t listener);

  unsigned _worker;
  const Config& _config;
  const LoopState& _loop;
  OpQueue& _ops;
  std::vector<int> _listeners;  // -1 once closed
  std::vector<bool> _armed;
  std::vector<bool> _tls;
  bool _owns_listeners;
  bool _stopped = false;
  ConnectionTable& _connections;
  Closer& _closer;
  Input& _input;
  Handshaker& _handshaker;
  const WorkerTls& _worker_tls;
  const AccessLogWriter& _log;
  bool _backoff = false;         // paused until the next tick
  bool _refusal_logged = false;  // once per tick
  uint64_t _refused_total = 0;
};

}  // namespace ringhttpd
