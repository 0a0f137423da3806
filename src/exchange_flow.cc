#include "src/exchange_flow.h"

#include <cstring>

#include "src/endpoints.h"
#include "src/http/path.h"
#include "src/log.h"
#include "src/plan/file_plan.h"
#include "src/plan/status_plan.h"
#include "src/response_batch.h"
#include "src/tls_connection.h"

namespace ringhttpd {

ExchangeFlow::ExchangeFlow(unsigned worker, const Config& config, const LoopState& loop,
                           FlowRooms rooms, const WorkerStats* all_stats)
    : _worker(worker), _config(config), _loop(loop), _rooms(rooms), _all_stats(all_stats) {}

void ExchangeFlow::after_handshake(Connection& connection, HandshakeStep step) {
  if (step == HandshakeStep::done) {
    after_input(connection, _rooms.input.next_request(connection, false));
  }
}

void ExchangeFlow::after_input(Connection& connection, InputStep step) {
  switch (step.event) {
    case InputEvent::waiting:
      return;
    case InputEvent::request:
      _rooms.exchanges.take_response_space(*connection.exchange);
      start_request(connection);
      return;
    case InputEvent::malformed:
      _rooms.exchanges.take_response_space(*connection.exchange);
      respond_status(connection, step.status);
      return;
    case InputEvent::ended:
      _rooms.closer.abort(connection);
      return;
  }
}

void ExchangeFlow::start_request(Connection& connection) {
  Route route = _rooms.router.route(connection, _loop.stopping);
  switch (route.kind) {
    case RouteKind::status:
      respond_status(connection, route.status);
      return;
    case RouteKind::options: {
      Exchange& exchange = *connection.exchange;
      send(connection, plan_options(plan_context(exchange), exchange.plan()));
      return;
    }
    case RouteKind::health:
    case RouteKind::metrics:
      respond_endpoint(connection, route.kind);
      return;
    case RouteKind::file:
      after_resolve(connection, _rooms.resolver.start(connection));
      return;
  }
}

void ExchangeFlow::after_resolve(Connection& connection, ResolveStep step) {
  switch (step.outcome) {
    case ResolveOutcome::pending:
      return;
    case ResolveOutcome::file:
      respond_file(connection);
      return;
    case ResolveOutcome::redirect: {
      // The directory's name from the normalised path (the cache key), never
      // from the raw target, whose escapes a browser reads its own way.
      Exchange& exchange = *connection.exchange;
      std::string_view key = exchange.cache_key();
      send(connection,
           plan_directory_redirect(plan_context(exchange), key.substr(key.rfind('/') + 1),
                                   target_query(exchange.request.target), exchange.plan()));
      return;
    }
    case ResolveOutcome::answer:
      respond_status(connection, step.status);
      return;
  }
}

void ExchangeFlow::after_send(Connection& connection, SendStep step) {
  switch (step) {
    case SendStep::pending:
      return;
    case SendStep::done:
      finish_response(connection);
      return;
    case SendStep::failed: {
      Exchange& exchange = *connection.exchange;
      if (exchange.send.peer_left && !exchange.send.bytes_out) {
        // Gone before any byte of its response: 499, as nginx logs it.
        exchange.status = 499;
        exchange.body_bytes_sent = 0;
      }
      _rooms.closer.abort(connection);
      return;
    }
    case SendStep::file_shrank: {
      // The head promised more bytes than the file now has: the only honest
      // end is to close, so the client sees a short body, not a wrong one.
      CacheEntry& served = connection.exchange->served();
      log_warn("ringhttpd: worker %u: %s shrank during a response; closing", _worker,
               served.resolved_path.c_str());
      _rooms.cache.invalidate(&served);
      _rooms.closer.abort(connection);
      return;
    }
    case SendStep::no_pipe:
      log_error("ringhttpd: worker %u: no pipe for splice: %s", _worker, strerror(errno));
      connection.exchange->keep_alive = false;
      respond_status(connection, 503);
      return;
  }
}

void ExchangeFlow::resume_pipe_waiters() {
  while (Connection* waiting = _rooms.sender.next_pipe_waiter()) {
    after_send(*waiting, _rooms.sender.resume(*waiting));
  }
}

PlanContext ExchangeFlow::plan_context(const Exchange& exchange) {
  PlanContext context;
  context.scratch = exchange.scratch;
  context.scratch_capacity = exchange.scratch_capacity;
  context.common.date = _date.get(_loop.now_seconds);
  if (!exchange.keep_alive) {
    context.common.connection_field = "close";
  } else if (exchange.request.version_minor == 0) {
    context.common.connection_field = "keep-alive";
  }
  context.head_only = exchange.head_only;
  return context;
}

void ExchangeFlow::respond_status(Connection& connection, uint16_t status) {
  Exchange& exchange = *connection.exchange;
  send(connection, plan_status(plan_context(exchange), status, exchange.plan()));
}

void ExchangeFlow::respond_file(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  FileAnswer answer;
  answer.request = &exchange.request;
  answer.asked = exchange.entry;
  answer.served = &exchange.served();
  if (exchange.sibling != nullptr) {
    answer.content_encoding = coding_name(static_cast<ContentCoding>(exchange.sibling_coding));
  }
  answer.vary_accept_encoding = !_config.precompressed.empty();
  answer.max_ranges = _config.max_ranges;
  answer.now_seconds = _loop.now_seconds;
  answer.boundary_seed = _boundaries.next();
  send(connection, plan_file(plan_context(exchange), answer, exchange.plan()));
}

// A generated body (metrics, or the health word) is written in the second
// half of scratch, then moved right after the head, which now knows its length.
void ExchangeFlow::respond_endpoint(Connection& connection, RouteKind kind) {
  Exchange& exchange = *connection.exchange;
  size_t half = exchange.scratch_capacity / 2;
  HeaderWriter body(exchange.scratch + half, exchange.scratch_capacity - half);
  EndpointAnswer answer = render_endpoint(kind == RouteKind::metrics ? Endpoint::metrics : Endpoint::health,
                                          _loop.stopping, _all_stats, _config.workers, body);
  if (body.overflowed()) {
    log_error("ringhttpd: worker %u: generated body larger than %zu bytes; closing", _worker,
              exchange.scratch_capacity - half);
    _rooms.closer.abort(connection);
    return;
  }
  send(connection, plan_generated(plan_context(exchange), answer.status, answer.content_type,
                                  body.text(), exchange.plan()));
}

void ExchangeFlow::send(Connection& connection, bool plan_fits) {
  if (!plan_fits) {
    log_error("ringhttpd: worker %u: response head larger than %u bytes; closing", _worker,
              connection.exchange->scratch_capacity);
    _rooms.closer.abort(connection);
    return;
  }
  if (batch(connection)) {
    connection.enter(ConnectionState::sending);  // sent, as far as the connection's states go
    finish_response(connection);  // its bytes wait in the batch for the next response
    return;
  }
  bool sealed_here = connection.tls != nullptr && connection.tls->sealing == RecordSealing::user;
  after_send(connection, sealed_here ? _rooms.tls_sender.start(connection) : _rooms.sender.start(connection));
}

// A response from memory with a whole request waiting behind it goes into
// the batch (response_batch.h).
bool ExchangeFlow::batch(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  const SendPlan& plan = exchange.plan();
  bool from_memory = plan.range_count == 0 || (exchange.entry != nullptr && exchange.served().body_ready);
  if (!from_memory || !exchange.keep_alive || _loop.stopping || !_rooms.log.has_room_for_a_batch() ||
      !batch_has_room(exchange, memory_response_bytes(plan)) ||
      !_rooms.input.request_waiting(connection)) {
    return false;
  }
  if (exchange.batch == nullptr) {
    _rooms.exchanges.take_batch(exchange);
  }
  append_memory_response(exchange, plan.range_count == 0 ? nullptr : exchange.served().body.get());
  exchange.send.batched = true;
  exchange.status = plan.status;
  ++_batched_total;
  return true;
}

void ExchangeFlow::finish_response(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  exchange.body_bytes_sent = exchange.plan().body_bytes;  // part headers included
  _rooms.log.record(connection);
  _rooms.exchanges.end_response(exchange);
  if (!exchange.send.batched) {
    _rooms.exchanges.give_back_batch(exchange);  // this response carried it, if there was one
  }
  if (!exchange.keep_alive || _loop.stopping) {
    _rooms.closer.close_after_response(connection);
    return;
  }
  exchange.reset_for_next_request();
  after_input(connection, _rooms.input.next_request(connection, true));
}

}  // namespace ringhttpd
