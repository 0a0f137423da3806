#pragma once
// One client connection, owned by one worker. Connections live in the
// connection table (connection_table.h) and are never copied or moved; a
// slot is reused only after its last in-flight operation completed, and its
// generation changes on reuse.

#include <array>
#include <cassert>
#include <cstdint>

#include "src/access_log.h"
#include "src/exchange.h"
#include "src/timer_list.h"

namespace ringhttpd {

enum class ConnectionState : uint8_t {
  free,        // slot unused
  handshaking, // TLS: the handshake's RECV or SEND is queued (handshaker.h)
  reading,     // a RECV is queued for the next request's bytes
  resolving,   // the resolver's STATX / OPENAT2 / READ for the requested file
  sending,     // a SEND / SENDMSG / SPLICE chain is queued
  shutting,    // SHUTDOWN(SHUT_WR) queued after the last response
  lingering,   // draining input before close, bounded by the linger timer
  aborting,    // cancels queued; closes when nothing is in flight
  closing,     // CLOSE queued
  count,
};

namespace detail {
constexpr uint16_t bit(ConnectionState state) { return uint16_t(1u << static_cast<unsigned>(state)); }
using enum ConnectionState;
// The states each state may move to; Connection::enter() asserts it.
constexpr std::array<uint16_t, static_cast<size_t>(count)> next_states{
    uint16_t(bit(reading) | bit(handshaking)),                                // free
    uint16_t(bit(reading) | bit(shutting) | bit(aborting)),                   // handshaking
    uint16_t(bit(reading) | bit(resolving) | bit(sending) | bit(aborting)),   // reading
    uint16_t(bit(resolving) | bit(sending) | bit(aborting)),                  // resolving
    uint16_t(bit(sending) | bit(reading) | bit(shutting) | bit(closing) | bit(aborting)),  // sending
    uint16_t(bit(lingering) | bit(aborting)),                                 // shutting
    bit(aborting),                                                            // lingering
    bit(closing),                                                             // aborting
    bit(free),                                                                // closing
};
}  // namespace detail

constexpr bool may_follow(ConnectionState from, ConnectionState to) {
  return (detail::next_states[static_cast<size_t>(from)] & detail::bit(to)) != 0;
}

struct TlsConnection;  // tls_connection.h

struct Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void enter(ConnectionState next) {
    assert(may_follow(state, next));
    state = next;
  }

  int fd = -1;
  uint32_t index = 0;       // slot number, carried in user_data
  uint32_t generation = 0;
  ConnectionState state = ConnectionState::free;
  uint16_t in_flight = 0;         // queued operations whose CQE is still due
  bool clobbered = false;         // closed to make room for a new connection
  uint64_t discard_body_bytes = 0;  // request body still to skip
  uint32_t requests_started = 0;  // for --keepalive-requests
  int64_t linger_until_ms = 0;    // hard cap on lingering
  Exchange* exchange = nullptr;   // null while idle between requests
  PeerAddress peer;               // for the access log and --metrics-allow
  TimerLink timer;
  TlsConnection* tls = nullptr;   // a connection to a --listen-tls address
};

// A client that sent "Connection: close" (or an HTTP/1.0 request without
// keep-alive) may send nothing more (RFC 9112 9.6); when nothing of it is
// left unread either, the response can end in a plain close, FIN at once,
// as nginx does (closer.h).
inline bool client_closes_cleanly(const Connection& connection) {
  const Exchange& exchange = *connection.exchange;
  return exchange.request_parsed && !exchange.request.keep_alive() &&
         exchange.in_start == exchange.in_end && connection.discard_body_bytes == 0;
}

}  // namespace ringhttpd
