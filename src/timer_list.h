#pragma once
// Deadlines without a timer per connection: one intrusive FIFO list per kind
// of wait (TLS handshake, request header, keep-alive idle, send progress,
// lingering close).
// Every entry of a list waits the same duration, so appending keeps the list
// ordered by deadline, and the once-per-tick sweep only looks at heads. The
// idle list's head is also the longest-idle connection, the one clobbered
// when the worker is full. Linked timeouts are not used: on a multishot op
// one would cap its whole life (uring/KERNEL.md, "Linked timeouts cap
// multishot ops").

#include <cstdint>

namespace ringhttpd {

enum class TimerKind : uint8_t { none, handshake, header, idle, send, linger, count };

constexpr uint32_t no_slot = UINT32_MAX;

struct TimerLink {
  uint32_t prev = no_slot;
  uint32_t next = no_slot;
  TimerKind kind = TimerKind::none;
  int64_t deadline_ms = 0;
};

struct TimerList {
  uint32_t head = no_slot;
  uint32_t tail = no_slot;
};

// `LinkOf(slot)` returns the TimerLink& of a slot.
template <typename LinkOf>
void timer_append(TimerList& list, TimerKind kind, uint32_t slot, int64_t deadline_ms,
                  LinkOf&& link_of) {
  TimerLink& link = link_of(slot);
  link.kind = kind;
  link.deadline_ms = deadline_ms;
  link.prev = list.tail;
  link.next = no_slot;
  if (list.tail != no_slot) {
    link_of(list.tail).next = slot;
  } else {
    list.head = slot;
  }
  list.tail = slot;
}

template <typename LinkOf>
void timer_unlink(TimerList& list, uint32_t slot, LinkOf&& link_of) {
  TimerLink& link = link_of(slot);
  if (link.prev != no_slot) {
    link_of(link.prev).next = link.next;
  } else {
    list.head = link.next;
  }
  if (link.next != no_slot) {
    link_of(link.next).prev = link.prev;
  } else {
    list.tail = link.prev;
  }
  link = TimerLink{};
}

}  // namespace ringhttpd
