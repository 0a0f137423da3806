#pragma once
// A provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19): the kernel
// picks a buffer only when data arrives, so a connection waiting in recv
// holds no memory of its own. liburing 2.3 has no io_uring_setup_buf_ring,
// so the ring memory is mapped and registered here.

#include <liburing.h>

#include <cstdint>

#include "uring/ring.h"

namespace ringhttpd::uring {

class BufferRing {
 public:
  // `count` must be a power of two.
  BufferRing(Ring& ring, uint16_t group_id, unsigned count, unsigned buffer_bytes);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group_id() const { return _group_id; }
  unsigned buffer_bytes() const { return _buffer_bytes; }
  char* buffer(uint16_t buffer_id) { return _memory + size_t{buffer_id} * _buffer_bytes; }
  // Hands a buffer back to the kernel once its bytes have been consumed.
  void recycle(uint16_t buffer_id);

  // The buffer id carried by a completion that used IOSQE_BUFFER_SELECT.
  static bool has_buffer(const io_uring_cqe* cqe) { return (cqe->flags & IORING_CQE_F_BUFFER) != 0; }
  static uint16_t buffer_id(const io_uring_cqe* cqe) {
    return static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  }

 private:
  Ring& _ring;
  uint16_t _group_id;
  unsigned _count;
  unsigned _buffer_bytes;
  io_uring_buf_ring* _buf_ring = nullptr;
  size_t _buf_ring_bytes = 0;
  char* _memory = nullptr;
};

}  // namespace ringhttpd::uring
