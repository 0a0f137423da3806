#include "src/connection_table.h"

#include "uring/user_data.h"

namespace ringhttpd {

void ConnectionTable::add_chunk() {
  uint32_t count = 1u << chunk_shift;
  _slot_chunks.push_back(std::make_unique<Connection[]>(count));
  for (uint32_t i = count; i-- > 0;) {
    _free_slots.push_back(_slots_made + i);
  }
  _slots_made += count;
}

Connection* ConnectionTable::open(int fd, ConnectionState first) {
  if (_open >= _max_connections + _clobbering) {
    return nullptr;
  }
  if (_free_slots.empty()) {
    add_chunk();
  }
  uint32_t index = _free_slots.back();
  _free_slots.pop_back();
  Connection& connection = slot(index);
  assert(connection.state == ConnectionState::free && connection.in_flight == 0);
  assert(connection.exchange == nullptr && connection.timer.kind == TimerKind::none);
  connection.index = index;
  connection.fd = fd;
  connection.clobbered = false;
  connection.discard_body_bytes = 0;
  connection.requests_started = 0;
  connection.linger_until_ms = 0;
  connection.peer = {};
  assert(connection.tls == nullptr);
  connection.enter(first);
  ++_open;
  return &connection;
}

Connection* ConnectionTable::claim(uint32_t index, uint32_t generation) {
  if (index >= _slots_made) {
    return nullptr;
  }
  Connection& connection = slot(index);
  if (connection.state == ConnectionState::free ||
      (connection.generation & uring::generation_mask) != generation) {
    return nullptr;
  }
  assert(connection.in_flight > 0);
  --connection.in_flight;
  return &connection;
}

Connection* ConnectionTable::find(uint32_t index, uint32_t generation) {
  if (index >= _slots_made) {
    return nullptr;
  }
  Connection& connection = slot(index);
  if (connection.state == ConnectionState::free || connection.generation != generation) {
    return nullptr;
  }
  return &connection;
}

void ConnectionTable::release(Connection& connection) {
  assert(connection.in_flight == 0);
  assert(connection.exchange == nullptr);
  assert(_open > 0);
  if (connection.clobbered) {
    assert(_clobbering > 0);
    connection.clobbered = false;
    --_clobbering;
  }
  clear_timer(connection);
  connection.fd = -1;
  connection.enter(ConnectionState::free);
  connection.generation = (connection.generation + 1) & uring::generation_mask;
  connection.discard_body_bytes = 0;
  _free_slots.push_back(connection.index);
  --_open;
}

void ConnectionTable::set_timer(Connection& connection, TimerKind kind, int64_t deadline_ms) {
  assert(kind != TimerKind::none && kind != TimerKind::count);
  clear_timer(connection);
  timer_append(list(kind), kind, connection.index, deadline_ms,
               [this](uint32_t i) -> TimerLink& { return slot(i).timer; });
  ++_timer_lengths[static_cast<size_t>(kind)];
}

void ConnectionTable::clear_timer(Connection& connection) {
  TimerKind kind = connection.timer.kind;
  if (kind == TimerKind::none) {
    return;
  }
  assert(_timer_lengths[static_cast<size_t>(kind)] > 0);
  --_timer_lengths[static_cast<size_t>(kind)];
  timer_unlink(list(kind), connection.index,
               [this](uint32_t i) -> TimerLink& { return slot(i).timer; });
}

Connection* ConnectionTable::longest_idle() {
  uint32_t longest = list(TimerKind::idle).head;
  return longest == no_slot ? nullptr : &slot(longest);
}

void ConnectionTable::mark_clobbered(Connection& connection) {
  assert(!connection.clobbered);
  connection.clobbered = true;
  ++_clobbering;
  ++_clobbered_total;
}

}  // namespace ringhttpd
