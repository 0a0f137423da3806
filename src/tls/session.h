#pragma once
// One server-side TLS connection driven by memory: the worker's ring moves
// the ciphertext (RECV into feed(), SEND from output()), and this object
// only turns it into plaintext and back. No socket is touched here, and no
// call blocks: where OpenSSL needs bytes that have not come, it says so
// (want_input) and the caller receives more.
//
// Both directions go through one BIO of ours. Input is copied once into a
// buffer of the session's, which OpenSSL drains; output records are built
// straight into the session's output buffer, bounded (output_room()), and
// both buffers are freed when empty, so an idle session holds neither.

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "src/tls/context_set.h"

namespace ringhttpd::tls {

// Why a handshake failed: the metric's label.
enum class Failure : uint8_t {
  none,
  version,     // the client offers no TLS 1.2 or 1.3 (SSLv3, TLS 1.0, 1.1)
  plain_http,  // cleartext HTTP sent to the TLS port
  no_common,   // no shared cipher, group or application protocol
  protocol,    // anything else the peer got wrong
  count,
};
const char* failure_name(Failure failure);

enum class Progress : uint8_t {
  done,        // the handshake is complete
  want_input,  // send output() first, if any; then more bytes are needed
  failed,      // send output() (the alert), then close
};

class Session {
 public:
  // A handshake under `contexts` (held until the session ends: its SNI
  // callback reads it).
  explicit Session(std::shared_ptr<const ContextSet> contexts);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Ciphertext received from the client.
  void feed(const char* bytes, size_t length);
  bool has_input() const { return _in_start < _in_end; }

  Progress handshake();
  bool handshake_done() const { return _handshake_done; }
  Failure failure() const { return _failure; }
  bool resumed() const { return SSL_session_reused(_ssl) == 1; }
  // The SNI name the client sent, or empty.
  std::string_view server_name() const;
  int version() const { return SSL_version(_ssl); }

  // Plaintext from what was fed: bytes read (> 0); 0: more input needed
  // (or room was 0); -1: the client closed (close_notify) or broke the
  // stream (an alert may wait in output()).
  long read(char* destination, size_t room);
  // Decrypted bytes OpenSSL holds that read() did not take yet.
  bool has_plaintext() const { return SSL_pending(_ssl) > 0; }

  // Encrypts up to `length` bytes into records in output(); returns how
  // many it took: fewer when the output buffer is near its bound (send,
  // consume, call again). -1: the session failed.
  long write(const char* bytes, size_t length);
  // A close_notify alert into output().
  void close_notify();

  std::string_view output() const { return {_out.get() + _out_start, _out_end - _out_start}; }
  void consume_output(size_t length);
  // Records to send before the bound: the plaintext write() takes at most
  // a little less than this.
  static constexpr size_t output_bound = 64 * 1024;

 private:
  static int bio_write(BIO* bio, const char* bytes, int length);
  static int bio_read(BIO* bio, char* destination, int length);
  static long bio_ctrl(BIO* bio, int command, long number, void* pointer);
  static BIO_METHOD* methods();
  Failure classify_failure(int ssl_error) const;

  std::shared_ptr<const ContextSet> _contexts;
  SSL* _ssl = nullptr;
  bool _handshake_done = false;
  Failure _failure = Failure::none;
  std::unique_ptr<char[]> _in;
  size_t _in_capacity = 0, _in_start = 0, _in_end = 0;
  std::unique_ptr<char[]> _out;
  size_t _out_capacity = 0, _out_start = 0, _out_end = 0;
  bool _first_bytes_seen = false;
  char _first_bytes[5] = {};  // the client's first bytes: what a failure is
  size_t _first_count = 0;
};

}  // namespace ringhttpd::tls
