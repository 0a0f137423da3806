#pragma once
// One client connection, owned by one worker. Connections live in a slot
// table and are never copied or moved; a slot is reused only after its last
// in-flight operation completed, and its generation changes on reuse.

#include <cstdint>

#include "src/access_log.h"
#include "src/exchange.h"
#include "src/timer_list.h"

namespace ringhttpd {

enum class ConnectionState : uint8_t {
  free,        // slot unused
  reading,     // a RECV is queued for the next request's bytes
  resolving,   // OPENAT2 / STATX for the requested file
  sending,     // a SEND / SPLICE chain is queued
  shutting,    // SHUTDOWN(SHUT_WR) queued after the last response
  lingering,   // draining input before close, bounded by the linger timer
  aborting,    // cancels queued; closes when nothing is in flight
  closing,     // CLOSE queued
};

struct Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd = -1;
  uint32_t index = 0;       // slot number, carried in user_data
  uint32_t generation = 0;
  ConnectionState state = ConnectionState::free;
  uint16_t in_flight = 0;         // queued operations whose CQE is still due
  bool recv_uses_pool = false;    // the queued RECV picks a provided buffer
  bool clobbered = false;         // closed to make room for a new connection
  uint64_t discard_body_bytes = 0;  // request body still to skip
  uint32_t requests_started = 0;  // for --keepalive-requests
  int64_t linger_until_ms = 0;    // hard cap on lingering
  Exchange* exchange = nullptr;   // null while idle between requests
  PeerAddress peer;               // for the access log
  TimerLink timer;
};

}  // namespace ringhttpd
