#pragma once
// user_data layout, the one place it is defined:
//
//   bits  0..7   operation kind (an application enum, up to 256 kinds)
//   bits  8..31  generation of the slot when the operation was queued (24 bits)
//   bits 32..63  slot index (connection number, or a reserved slot)
//
// A completion whose generation differs from its slot's current one belongs
// to an earlier occupant of a reused slot and is discarded.

#include <cstdint>

namespace ringhttpd::uring {

struct Tag {
  uint8_t op = 0;
  uint32_t generation = 0;  // only the low 24 bits are kept
  uint32_t slot = 0;
};

constexpr uint32_t generation_mask = 0xFF'FFFF;

constexpr uint64_t encode(Tag tag) {
  return static_cast<uint64_t>(tag.op) |
         (static_cast<uint64_t>(tag.generation & generation_mask) << 8) |
         (static_cast<uint64_t>(tag.slot) << 32);
}

constexpr Tag decode(uint64_t user_data) {
  return Tag{static_cast<uint8_t>(user_data & 0xFF),
             static_cast<uint32_t>((user_data >> 8) & generation_mask),
             static_cast<uint32_t>(user_data >> 32)};
}

}  // namespace ringhttpd::uring
