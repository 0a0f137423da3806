#pragma once
// The connection table: slots and their generations, the count of open
// connections, the deadline lists, and the bookkeeping of clobbering (a
// full worker closes its longest-idle connection to admit a new one). No
// ring in here: the rooms that do I/O ask it, so it is tested alone.

#include <array>
#include <cassert>
#include <cstdint>
#include <memory>
#include <vector>

#include "src/connection.h"
#include "src/timer_list.h"

namespace ringhttpd {

class ConnectionTable {
 public:
  explicit ConnectionTable(uint32_t max_connections) : _max_connections(max_connections) {}
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;

  // A slot for the accepted socket `fd`, in state `first` (reading, or
  // handshaking for TLS) with everything else reset; null when
  // max_connections are open. Connections being
  // clobbered still hold their slots until their CLOSE completes, so the
  // limit stretches by their number meanwhile.
  Connection* open(int fd, ConnectionState first = ConnectionState::reading);
  // The connection a completion belongs to, its in_flight count taken
  // down; null when the slot is free or has a newer generation (the
  // completion outlived its connection).
  Connection* claim(uint32_t slot, uint32_t generation);
  // The open connection in `slot` if it still has that generation, without
  // touching its in_flight count; else null.
  Connection* find(uint32_t slot, uint32_t generation);
  // The socket's CLOSE completed: the slot is free, its generation moves on.
  void release(Connection& connection);

  // One deadline per connection, in one FIFO list per kind (timer_list.h).
  void set_timer(Connection& connection, TimerKind kind, int64_t deadline_ms);
  void clear_timer(Connection& connection);
  // Calls expired(connection, kind) for every deadline at or before now_ms,
  // its timer already cleared.
  template <typename Fn>
  void expire(int64_t now_ms, Fn&& expired);

  // The connection idle longest in keep-alive (the head of the idle list):
  // one still owed its first response is never there. Null when none is.
  Connection* longest_idle();
  // `connection` is being closed to admit another.
  void mark_clobbered(Connection& connection);

  template <typename Fn>
  void for_each_open(Fn&& fn);

  uint32_t open_count() const { return _open; }
  uint32_t idle_count() const { return _timer_lengths[static_cast<size_t>(TimerKind::idle)]; }
  uint64_t clobbered_total() const { return _clobbered_total; }
  uint32_t slots_made() const { return _slots_made; }

 private:
  static constexpr uint32_t chunk_shift = 10;
  static constexpr uint32_t chunk_mask = (1u << chunk_shift) - 1;

  Connection& slot(uint32_t index) { return _slot_chunks[index >> chunk_shift][index & chunk_mask]; }
  TimerList& list(TimerKind kind) { return _timers[static_cast<size_t>(kind)]; }
  void add_chunk();

  uint32_t _max_connections;
  std::vector<std::unique_ptr<Connection[]>> _slot_chunks;  // never move once handed out
  std::vector<uint32_t> _free_slots;
  uint32_t _slots_made = 0;
  uint32_t _open = 0;
  uint32_t _clobbering = 0;  // clobbered connections not yet closed
  uint64_t _clobbered_total = 0;
  std::array<TimerList, static_cast<size_t>(TimerKind::count)> _timers{};
  std::array<uint32_t, static_cast<size_t>(TimerKind::count)> _timer_lengths{};
};

template <typename Fn>
void ConnectionTable::expire(int64_t now_ms, Fn&& expired) {
  for (size_t kind = 0; kind < _timers.size(); ++kind) {
    TimerList& timers = _timers[kind];
    while (timers.head != no_slot && slot(timers.head).timer.deadline_ms <= now_ms) {
      Connection& connection = slot(timers.head);
      clear_timer(connection);
      expired(connection, static_cast<TimerKind>(kind));
    }
  }
}

template <typename Fn>
void ConnectionTable::for_each_open(Fn&& fn) {
  for (uint32_t index = 0; index < _slots_made; ++index) {
    if (slot(index).state != ConnectionState::free) {
      fn(slot(index));
    }
  }
}

}  // namespace ringhttpd
