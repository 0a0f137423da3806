#pragma once
// What follows what in one exchange: input -> route -> resolve -> plan ->
// send, then the next request or the close. Each room hands back what its
// completion came to (an InputStep, a ResolveStep, a SendStep); the loop's
// switch passes it here, and this decides the next step. The only room
// that knows the order.

#include <cstdint>

#include "conf/config.h"
#include "src/access_log_writer.h"
#include "src/closer.h"
#include "src/connection.h"
#include "src/exchange_pool.h"
#include "src/handshaker.h"
#include "src/input.h"
#include "src/loop_state.h"
#include "src/plan/boundary.h"
#include "src/resolver.h"
#include "src/router.h"
#include "src/sender.h"
#include "src/tls_sender.h"
#include "src/worker_stats.h"

namespace ringhttpd {

struct FlowRooms {
  Input& input;
  Router& router;
  Resolver& resolver;
  Sender& sender;
  TlsSender& tls_sender;
  Closer& closer;
  ExchangePool& exchanges;
  FileCache& cache;
  AccessLogWriter& log;
};

class ExchangeFlow {
 public:
  ExchangeFlow(unsigned worker, const Config& config, const LoopState& loop, FlowRooms rooms,
               const WorkerStats* all_stats);
  ExchangeFlow(const ExchangeFlow&) = delete;
  ExchangeFlow& operator=(const ExchangeFlow&) = delete;

  void after_handshake(Connection& connection, HandshakeStep step);
  void after_input(Connection& connection, InputStep step);
  void after_resolve(Connection& connection, ResolveStep step);
  void after_send(Connection& connection, SendStep step);
  // Responses waiting for a pipe go on while the pool has one free.
  void resume_pipe_waiters();
  // Responses that went out in a later response's send (response_batch.h).
  uint64_t batched_total() const { return _batched_total; }

 private:
  void start_request(Connection& connection);
  void respond_status(Connection& connection, uint16_t status);
  void respond_file(Connection& connection);
  void respond_endpoint(Connection& connection, RouteKind kind);
  void send(Connection& connection, bool plan_fits);
  bool batch(Connection& connection);
  void finish_response(Connection& connection);
  PlanContext plan_context(const Exchange& exchange);

  uint64_t _batched_total = 0;
  unsigned _worker;
  const Config& _config;
  const LoopState& _loop;
  FlowRooms _rooms;
  const WorkerStats* _all_stats;  // every worker's, for /metrics
  DateCache _date;
  BoundaryMaker _boundaries;
};

}  // namespace ringhttpd
