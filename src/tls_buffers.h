#pragma once
// The output buffers of a worker's TLS connections: one is lent to a
// connection while it has records to send (a handshake flight, a response)
// and comes back when they are out, so an idle connection holds none. A
// peak's buffers go back to the allocator on the tick (Spares).
//
// Size: four full records and a head. A response from memory (up to 64 KiB
// by default, --cache-body-max) goes in one SEND with its head; a file
// body goes 64 KiB per READ and SEND.

#include <cstdint>
#include <memory>

#include "src/exchange_pool.h"
#include "src/tls/record_sealer.h"
#include "src/tls/session.h"
#include "src/tls_connection.h"

namespace ringhttpd {

inline constexpr uint32_t tls_buffer_bytes = 4 * (tls::max_record_payload + 29) + 2048;

class TlsBuffers {
 public:
  TlsBuffers() = default;
  TlsBuffers(const TlsBuffers&) = delete;
  TlsBuffers& operator=(const TlsBuffers&) = delete;

  // The connection's session gets a buffer, unless it has one.
  void lend(TlsConnection& tls) {
    if (tls.buffer != nullptr) {
      return;
    }
    tls.buffer = _spares.take([] { return std::make_unique_for_overwrite<char[]>(tls_buffer_bytes); });
    tls.session.attach_output(tls.buffer, tls_buffer_bytes);
  }
  // Back, once nothing in it waits to be sent.
  void take_back(TlsConnection& tls) {
    if (tls.buffer == nullptr) {
      return;
    }
    tls.session.detach_output();
    _spares.give(tls.buffer);
    tls.buffer = nullptr;
  }
  size_t trim() { return _spares.trim(spare_buffers_kept); }
  size_t made() const { return _spares.made(); }

 private:
  static constexpr size_t spare_buffers_kept = 4;
  Spares<char[]> _spares;
};

}  // namespace ringhttpd
