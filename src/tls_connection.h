#pragma once
// What a TLS connection holds beside its Connection: the session (src/tls/
// session.h), where its records are sealed, the output buffer lent to it
// while records wait to be sent (tls_buffers.h), and the close_notify
// alert sent before its close.

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>

#include "src/tls/session.h"
#include "src/tls_contexts.h"

namespace ringhttpd {

struct TlsConnection {
  explicit TlsConnection(std::shared_ptr<const tls::ContextSet> contexts) : session(std::move(contexts)) {}
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  tls::Session session;
  RecordSealing sealing = RecordSealing::user;
  bool kernel_wanted = false;   // hand records to the kernel once the handshake ends
  tls::Progress progress = tls::Progress::want_input;  // the handshake's last step
  bool answering_plain_http = false;  // the 400 for cleartext HTTP is being sent
  bool close_notify_sent = false;     // (with the last response, or by the closer)
  char* buffer = nullptr;       // lent by TlsBuffers while output waits
  uint32_t send_bytes = 0;      // the SEND in flight: bytes it asked for
  // close_notify: sealed here (user sealing), or its plaintext with a
  // record-type control message for the kernel's records.
  char alert[tls::Session::close_notify_bytes] = {};
  uint32_t alert_bytes = 0;
  msghdr alert_message{};
  iovec alert_vector{};
  alignas(cmsghdr) char alert_control[CMSG_SPACE(1)] = {};
};

}  // namespace ringhttpd
