#pragma once
// One server-side TLS connection driven by memory: the worker's ring moves
// the bytes (RECV into feed(), SEND from output()), and this object only
// turns ciphertext into plaintext and back. No socket is touched here and
// no call blocks: where OpenSSL needs bytes that have not come, it says so
// (want_input), and where the output buffer is full, it says that
// (want_output).
//
// OpenSSL drives the handshake and decrypts what the client sends. What
// the server sends after the handshake is sealed here (record_sealer.h):
// the session's BIO tells OpenSSL it can do kernel TLS, so OpenSSL hands
// over the write keys at the change of cipher state and from then on gives
// the BIO its own messages (session tickets, a KeyUpdate, alerts) as
// plaintext with their content type, as it would to a kTLS socket; they
// are sealed like the responses. (OpenSSL 3.0 does this for a BIO that
// answers its kTLS controls; the server checks it at start-up:
// self_test.h.)
//
// Input is read where it was received (feed()); only what OpenSSL leaves
// unread is copied, into a buffer freed once drained. Output goes into a
// buffer the caller attaches while it has something to send, so an idle
// session holds neither.

#include <openssl/ssl.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "src/tls/context_set.h"
#include "src/tls/record_sealer.h"

namespace ringhttpd::tls {

// Why a handshake failed: the metric's label.
enum class Failure : uint8_t {
  none,
  version,     // the client offers no TLS 1.2 or 1.3 (SSLv3, TLS 1.0, 1.1)
  plain_http,  // cleartext HTTP sent to the TLS port
  no_common,   // no shared cipher, group or application protocol
  protocol,    // anything else the peer got wrong
  keys,        // OpenSSL did not hand over the write keys (a cipher the sealer lacks)
  timeout,     // the handshake did not end within its deadline
  closed,      // the client closed or reset before the end
  count,
};
const char* failure_name(Failure failure);

enum class Progress : uint8_t {
  done,         // the handshake is complete
  want_input,   // send output() first, if any; then more bytes are needed
  want_output,  // the output buffer is full: send it, then call again
  failed,       // send output() (an alert), then close
};

class Session {
 public:
  // A handshake under `contexts`, held until the session ends (its SNI
  // callback reads it). OpenSSL's part is made by the first handshake().
  explicit Session(std::shared_ptr<const ContextSet> contexts);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // ---- Input ----
  // The ciphertext of one receive, read in place by the calls that follow;
  // keep_unread() copies what they left before the bytes go away.
  void feed(const char* bytes, size_t length);
  void keep_unread();
  // Ciphertext held, or decrypted bytes not read yet: read() may give more
  // without a receive.
  bool has_input() const;

  // ---- Output: sealed records, in a buffer of the caller's ----
  void attach_output(char* buffer, uint32_t capacity);
  // The buffer back; only once everything in it was sent.
  char* detach_output();
  bool output_attached() const { return _out != nullptr; }
  // Records ready to send (an open record is not: seal_open() first).
  std::string_view output() const { return {_out + _out_start, _out_end - _out_start}; }
  void consume_output(size_t length);
  bool output_idle() const { return _out_start == _out_end && !_record_open; }

  // ---- Handshake ----
  Progress handshake();
  bool handshake_done() const { return _handshake_done; }
  Failure failure() const { return _failure; }
  bool resumed() const { return _ssl != nullptr && SSL_session_reused(_ssl) == 1; }
  std::string_view server_name() const;  // the SNI name, or empty
  int version() const { return _ssl != nullptr ? SSL_version(_ssl) : 0; }

  // ---- Application data ----
  // Plaintext from what was fed: bytes read (> 0); 0: more input needed
  // (or room is 0); -1: the client closed (close_notify) or broke the
  // stream.
  long read(char* destination, size_t room);
  // read() said -1: the client sent close_notify (or a broken record), and
  // nothing more will come.
  bool reading_ended() const { return _reading_ended; }
  // The client asked for a KeyUpdate (TLS 1.3): ours goes before the next
  // records, through send_key_update() with output attached.
  bool key_update_due() const {
    return _ssl != nullptr && SSL_get_key_update_type(_ssl) != SSL_KEY_UPDATE_NONE;
  }
  bool send_key_update();

  // Plaintext into records in the output buffer: returns how much fitted.
  uint32_t append(const char* bytes, uint32_t length);
  // Where a READ of up to `want` plaintext bytes should put them, straight
  // into record payloads: fills `vectors`, returns their count and sets
  // `planned`. after_read() then says how many came (at most planned).
  unsigned plan_read(uint64_t want, iovec* vectors, unsigned max_vectors, uint32_t& planned);
  void after_read(uint32_t got);
  // Seals the record being filled, so output() holds everything.
  void seal_open();
  // A close_notify alert after the records in the output buffer; false when
  // it has no room.
  bool append_close_notify();
  // A close_notify alert, sealed into `out` for a send of its own; 0 when
  // no keys are held.
  static constexpr uint32_t close_notify_bytes = 40;
  uint32_t seal_close_notify(char* out);
  // False once sealing failed: the connection cannot go on.
  bool healthy() const { return !_seal_failed; }

  RecordSealer& sealer() { return _sealer; }

  // Called by the context's keylog callback with each secret line.
  void note_secret_line(std::string_view line);

 private:
  static int bio_write(BIO* bio, const char* bytes, int length);
  static int bio_read(BIO* bio, char* destination, int length);
  static long bio_ctrl(BIO* bio, int command, long number, void* pointer);
  static BIO_METHOD* methods();
  bool start();
  Failure classify_failure(int ssl_error) const;
  int write_record_from_openssl(const char* bytes, size_t length);
  uint32_t open_record_room() const;
  bool worth_a_record(uint64_t left) const;
  void open_record();

  std::shared_ptr<const ContextSet> _contexts;
  SSL* _ssl = nullptr;
  bool _handshake_done = false;
  Failure _failure = Failure::none;
  // Input: the bytes of the current receive, then what they left.
  const char* _feed = nullptr;
  size_t _feed_length = 0;
  std::unique_ptr<char[]> _stash;
  size_t _stash_capacity = 0, _stash_start = 0, _stash_end = 0;
  char _first_bytes[5] = {};  // the client's first bytes: what a failure is
  size_t _first_count = 0;
  // Output.
  char* _out = nullptr;
  uint32_t _out_capacity = 0, _out_start = 0, _out_end = 0;
  bool _record_open = false;  // a record at _out_end, payload being filled
  uint32_t _open_length = 0;  // its plaintext so far
  // Records sealed here once OpenSSL handed over the keys.
  RecordSealer _sealer;
  uint8_t _next_type = 0;       // content type of OpenSSL's next write; 0: data
  bool _seal_failed = false;
  bool _reading_ended = false;
};

}  // namespace ringhttpd::tls
