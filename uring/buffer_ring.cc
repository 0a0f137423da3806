#include "uring/buffer_ring.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace ringhttpd::uring {

BufferRing::BufferRing(Ring& ring, uint16_t group_id, unsigned count, unsigned buffer_bytes)
    : _ring(ring), _group_id(group_id), _count(count), _buffer_bytes(buffer_bytes) {
  _buf_ring_bytes = sizeof(io_uring_buf) * count;
  void* mapped = mmap(nullptr, _buf_ring_bytes, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mapped == MAP_FAILED) {
    throw RingUnavailable(std::string("cannot map the provided-buffer ring: ") + std::strerror(errno));
  }
  _buf_ring = static_cast<io_uring_buf_ring*>(mapped);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<uint64_t>(_buf_ring);
  registration.ring_entries = count;
  registration.bgid = group_id;
  int result = io_uring_register_buf_ring(_ring.raw(), &registration, 0);
  if (result < 0) {
    munmap(_buf_ring, _buf_ring_bytes);
    throw RingUnavailable(std::string("io_uring is unavailable: cannot register a provided-buffer ring: ") +
                          std::strerror(-result) + " (needs Linux >= 5.19)");
  }
  io_uring_buf_ring_init(_buf_ring);
  _memory = static_cast<char*>(std::aligned_alloc(64, size_t{count} * buffer_bytes));
  for (unsigned id = 0; id < count; ++id) {
    io_uring_buf_ring_add(_buf_ring, buffer(static_cast<uint16_t>(id)), buffer_bytes,
                          static_cast<unsigned short>(id), io_uring_buf_ring_mask(count),
                          static_cast<int>(id));
  }
  io_uring_buf_ring_advance(_buf_ring, static_cast<int>(count));
}

BufferRing::~BufferRing() {
  io_uring_unregister_buf_ring(_ring.raw(), _group_id);
  munmap(_buf_ring, _buf_ring_bytes);
  std::free(_memory);
}

void BufferRing::recycle(uint16_t buffer_id) {
  io_uring_buf_ring_add(_buf_ring, buffer(buffer_id), _buffer_bytes, buffer_id,
                        io_uring_buf_ring_mask(_count), 0);
  io_uring_buf_ring_advance(_buf_ring, 1);
}

}  // namespace ringhttpd::uring
