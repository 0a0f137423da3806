#include "src/tls/session.h"

#include <openssl/err.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>

namespace ringhttpd::tls {
namespace {

// OpenSSL's controls of a kTLS-capable BIO (its include/internal/bio.h;
// only the two queries are public in <openssl/bio.h>). A socket BIO starts
// the kernel's TLS on SET_KTLS; this one keeps the keys for its sealer.
constexpr int bio_ctrl_set_ktls = 72;
constexpr int bio_ctrl_get_ktls_send = BIO_CTRL_GET_KTLS_SEND;  // 73
constexpr int bio_ctrl_set_ktls_tx_ctrl_msg = 74;
constexpr int bio_ctrl_clear_ktls_tx_ctrl_msg = 75;
constexpr int bio_ctrl_get_ktls_recv = BIO_CTRL_GET_KTLS_RECV;  // 76

constexpr uint8_t handshake_key_update = 24;  // HandshakeType (RFC 8446 4)

bool looks_like_http(const char* bytes, size_t count) {
  static constexpr std::string_view methods[] = {"GET ", "HEAD", "POST", "PUT ", "DELE", "OPTI",
                                                 "PATC", "CONN", "TRAC", "PRI "};
  std::string_view start(bytes, std::min<size_t>(count, 4));
  for (std::string_view method : methods) {
    if (!start.empty() && method.substr(0, start.size()) == start) {
      return true;
    }
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

const char* failure_name(Failure failure) {
  switch (failure) {
    case Failure::none: return "none";
    case Failure::version: return "version";
    case Failure::plain_http: return "plain_http";
    case Failure::no_common: return "no_common";
    case Failure::protocol: return "protocol";
    case Failure::keys: return "keys";
    case Failure::timeout: return "timeout";
    case Failure::closed: return "closed";
    case Failure::count: break;
  }
  return "protocol";
}

BIO_METHOD* Session::methods() {
  static BIO_METHOD* made = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringhttpd ring");
    BIO_meth_set_write(m, &Session::bio_write);
    BIO_meth_set_read(m, &Session::bio_read);
    BIO_meth_set_ctrl(m, &Session::bio_ctrl);
    BIO_meth_set_create(m, [](BIO* bio) {
      BIO_set_init(bio, 1);
      return 1;
    });
    return m;
  }();
  return made;
}

Session::Session(std::shared_ptr<const ContextSet> contexts) : _contexts(std::move(contexts)) {}

// On the first bytes, not at accept: a client that connects and sends
// nothing costs no SSL object (about 8 KiB with its BIO).
bool Session::start() {
  _ssl = SSL_new(_contexts->default_context());
  BIO* bio = _ssl != nullptr ? BIO_new(methods()) : nullptr;
  if (bio == nullptr) {
    SSL_free(_ssl);
    _ssl = nullptr;
    ERR_clear_error();
    return false;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(_ssl, bio, bio);  // one BIO, both directions; the SSL owns it
  SSL_set_app_data(_ssl, this);  // for the keylog callback (context_set.cc)
  SSL_set_accept_state(_ssl);
  return true;
}

Session::~Session() { SSL_free(_ssl); }

std::string_view Session::server_name() const {
  const char* name = _ssl != nullptr ? SSL_get_servername(_ssl, TLSEXT_NAMETYPE_host_name) : nullptr;
  return name == nullptr ? std::string_view() : std::string_view(name);
}

// ---- input --------------------------------------------------------------

void Session::feed(const char* bytes, size_t length) {
  assert(_feed_length == 0);
  if (_first_count < sizeof _first_bytes) {
    size_t take = std::min(length, sizeof _first_bytes - _first_count);
    std::memcpy(_first_bytes + _first_count, bytes, take);
    _first_count += take;
  }
  if (_stash_start == _stash_end) {
    _feed = bytes;  // the common case: read where it lies
    _feed_length = length;
    return;
  }
  _feed = bytes;
  _feed_length = length;
  keep_unread();  // behind bytes already held: joined to them
}

void Session::keep_unread() {
  if (_feed_length == 0) {
    return;
  }
  size_t held = _stash_end - _stash_start;
  if (_stash_capacity - _stash_end < _feed_length) {
    size_t wanted = std::max(held + _feed_length, size_t{4096});
    if (wanted > _stash_capacity) {
      auto larger = std::make_unique<char[]>(wanted);
      if (held > 0) {
        std::memcpy(larger.get(), _stash.get() + _stash_start, held);
      }
      _stash = std::move(larger);
      _stash_capacity = wanted;
    } else if (held > 0) {
      std::memmove(_stash.get(), _stash.get() + _stash_start, held);
    }
    _stash_start = 0;
    _stash_end = held;
  }
  std::memcpy(_stash.get() + _stash_end, _feed, _feed_length);
  _stash_end += _feed_length;
  _feed = nullptr;
  _feed_length = 0;
}

bool Session::has_input() const {
  return _stash_start < _stash_end || _feed_length > 0 || (_ssl != nullptr && SSL_has_pending(_ssl) == 1);
}

int Session::bio_read(BIO* bio, char* destination, int length) {
  auto* session = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  auto room = static_cast<size_t>(length);
  if (session->_stash_start < session->_stash_end) {
    size_t take = std::min(session->_stash_end - session->_stash_start, room);
    std::memcpy(destination, session->_stash.get() + session->_stash_start, take);
    session->_stash_start += take;
    if (session->_stash_start == session->_stash_end) {
      // Drained: an idle session holds no input buffer.
      session->_stash.reset();
      session->_stash_capacity = session->_stash_start = session->_stash_end = 0;
    }
    return static_cast<int>(take);
  }
  if (session->_feed_length > 0) {
    size_t take = std::min(session->_feed_length, room);
    std::memcpy(destination, session->_feed, take);
    session->_feed += take;
    session->_feed_length -= take;
    return static_cast<int>(take);
  }
  BIO_set_retry_read(bio);
  return -1;
}

// ---- output -------------------------------------------------------------

void Session::attach_output(char* buffer, uint32_t capacity) {
  assert(_out == nullptr);
  _out = buffer;
  _out_capacity = capacity;
  _out_start = _out_end = 0;
  _record_open = false;
  _open_length = 0;
}

char* Session::detach_output() {
  assert(output_idle());
  char* buffer = _out;
  _out = nullptr;
  _out_capacity = _out_start = _out_end = 0;
  return buffer;
}

void Session::consume_output(size_t length) {
  assert(length <= _out_end - _out_start);
  _out_start += static_cast<uint32_t>(length);
  if (_out_start == _out_end && !_record_open) {
    _out_start = _out_end = 0;  // sent: the next records start at the front
  }
}

// A new record only where it can be whole (16 KiB, or all that is left to
// put in), unless the buffer is empty: a short record in the middle of a
// body costs the client a decryption of its own (with a record's worth of
// room less than a buffer's end, wrk spent 40% more CPU per 1 MiB body).
bool Session::worth_a_record(uint64_t left) const {
  uint32_t overhead = _sealer.prefix_bytes() + _sealer.suffix_bytes();
  if (_out_capacity < _out_end + overhead + 1) {
    return false;
  }
  uint32_t room = std::min(max_record_payload, _out_capacity - _out_end - overhead);
  return _out_end == 0 || room >= std::min<uint64_t>(max_record_payload, left);
}

uint32_t Session::open_record_room() const {
  uint32_t overhead = _sealer.prefix_bytes() + _sealer.suffix_bytes();
  uint32_t used = _record_open ? _open_length : 0;
  if (_out_capacity < _out_end + overhead + used) {
    return 0;
  }
  uint32_t payload_most = std::min(max_record_payload, _out_capacity - _out_end - overhead);
  return payload_most - used;
}

void Session::open_record() {
  assert(!_record_open);
  _record_open = true;
  _open_length = 0;
}

void Session::seal_open() {
  if (!_record_open) {
    return;
  }
  _record_open = false;
  if (_open_length == 0) {
    return;  // nothing went in: no empty record
  }
  uint32_t sealed = _sealer.seal(_out + _out_end, _open_length, record_application_data);
  _seal_failed |= sealed == 0;
  _out_end += sealed;
  _open_length = 0;
}

uint32_t Session::append(const char* bytes, uint32_t length) {
  assert(_sealer.loaded() && _out != nullptr);
  uint32_t taken = 0;
  while (taken < length) {
    if (!_record_open) {
      if (!worth_a_record(length - taken)) {
        break;  // the rest goes in whole records after the send
      }
      open_record();
    }
    uint32_t room = open_record_room();
    if (room == 0) {
      seal_open();
      if (open_record_room() == 0) {
        break;  // the buffer is full
      }
      continue;
    }
    uint32_t take = std::min(room, length - taken);
    std::memcpy(_out + _out_end + _sealer.prefix_bytes() + _open_length, bytes + taken, take);
    _open_length += take;
    taken += take;
  }
  return taken;
}

// The records a READ fills are laid out as after_read() will seal them:
// the open record's rest first, then whole records, the last one partial.
unsigned Session::plan_read(uint64_t want, iovec* vectors, unsigned max_vectors, uint32_t& planned) {
  assert(_sealer.loaded() && _out != nullptr);
  planned = 0;
  unsigned count = 0;
  uint32_t overhead = _sealer.prefix_bytes() + _sealer.suffix_bytes();
  uint32_t record_at = _out_end;
  uint32_t used = _record_open ? _open_length : 0;
  while (planned < want && count < max_vectors && _out_capacity > record_at + overhead) {
    uint32_t payload_most = std::min(max_record_payload, _out_capacity - record_at - overhead);
    if (used == payload_most) {
      record_at += overhead + used;  // full: the next record starts after it
      used = 0;
      continue;
    }
    if (used == 0 && record_at > 0 && payload_most < std::min<uint64_t>(max_record_payload, want - planned)) {
      break;  // no room for a whole record: it goes after the send
    }
    auto take = static_cast<uint32_t>(std::min<uint64_t>(payload_most - used, want - planned));
    vectors[count++] = {_out + record_at + _sealer.prefix_bytes() + used, take};
    planned += take;
    used += take;
  }
  return count;
}

void Session::after_read(uint32_t got) {
  while (got > 0) {
    if (!_record_open) {
      open_record();
    }
    uint32_t room = open_record_room();
    if (room == 0) {
      seal_open();  // filled to the brim by append(): plan_read() laid out the next one
      continue;
    }
    uint32_t take = std::min(room, got);
    _open_length += take;
    got -= take;
    if (take == room) {
      seal_open();  // full: sealed where it lies
    }
  }
}

bool Session::append_close_notify() {
  seal_open();
  if (_out == nullptr || _out_capacity - _out_end < close_notify_bytes) {
    return false;
  }
  uint32_t sealed = seal_close_notify(_out + _out_end);
  _out_end += sealed;
  return sealed > 0;
}

uint32_t Session::seal_close_notify(char* out) {
  if (!_sealer.loaded()) {
    return 0;
  }
  static_assert(close_notify_bytes >= 5 + 8 + 2 + 16 + 1);
  char* payload = out + _sealer.prefix_bytes();
  payload[0] = 1;  // warning
  payload[1] = 0;  // close_notify
  return _sealer.seal(out, 2, record_alert);
}

// OpenSSL's own output. Before the keys came, its records (sealed by
// OpenSSL: the handshake) are copied as they are; after, each write is the
// plaintext of one message of the announced content type, sealed here.
int Session::write_record_from_openssl(const char* bytes, size_t length) {
  if (!_sealer.loaded()) {
    // OpenSSL goes on from a short write: what does not fit waits.
    uint32_t room = _out == nullptr ? 0 : _out_capacity - _out_end;
    auto taken = static_cast<uint32_t>(std::min<size_t>(room, length));
    if (taken == 0) {
      return -1;
    }
    std::memcpy(_out + _out_end, bytes, taken);
    _out_end += taken;
    return static_cast<int>(taken);
  }
  uint32_t overhead = _sealer.prefix_bytes() + _sealer.suffix_bytes();
  // A record being filled (a READ may be writing into it) is not OpenSSL's
  // to close: its message waits, as for a full buffer. (The worker reads
  // no input while a response is under way, so this does not happen there.)
  if (_out == nullptr || _record_open || _out_capacity - _out_end < overhead + length) {
    if (_out != nullptr && _out_end == 0) {
      _seal_failed = true;  // could never fit: a buffer smaller than one record
      return -2;
    }
    return -1;  // one message per record, whole: after the send
  }
  uint8_t type = _next_type != 0 ? _next_type : record_application_data;
  std::memcpy(_out + _out_end + _sealer.prefix_bytes(), bytes, length);
  uint32_t sealed = _sealer.seal(_out + _out_end, static_cast<uint32_t>(length), type);
  if (sealed == 0) {
    _seal_failed = true;
    return -1;
  }
  _out_end += sealed;
  _next_type = 0;  // one message per control write, as a socket BIO clears it
  if (type == record_handshake && length > 0 && static_cast<uint8_t>(bytes[0]) == handshake_key_update) {
    // Our KeyUpdate went under the old keys; what follows uses the next.
    _seal_failed |= !_sealer.update_keys();
  }
  return static_cast<int>(length);
}

int Session::bio_write(BIO* bio, const char* bytes, int length) {
  auto* session = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  int written = session->write_record_from_openssl(bytes, static_cast<size_t>(length));
  if (written == -1) {
    BIO_set_retry_write(bio);  // the caller sends what is there, then calls again
  }
  return written < 0 ? -1 : written;
}

long Session::bio_ctrl(BIO* bio, int command, long number, void* pointer) {
  auto* session = static_cast<Session*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // the caller sends output() itself
    case BIO_CTRL_PENDING:
      return static_cast<long>(session->_stash_end - session->_stash_start + session->_feed_length);
    case BIO_CTRL_WPENDING:
      return static_cast<long>(session->_out_end - session->_out_start);
    case bio_ctrl_set_ktls:
      // number: non-zero for the write direction (OpenSSL 3.0 passes its
      // SSL3_CC_WRITE bit, 2; 3.2 and later a direction, 1). Reading stays
      // with OpenSSL.
      if (number != 0 && !session->_sealer.loaded() && session->_sealer.load(pointer)) {
        return 1;
      }
      return 0;
    case bio_ctrl_get_ktls_send:
      return session->_sealer.loaded() ? 1 : 0;
    case bio_ctrl_get_ktls_recv:
      return 0;
    case bio_ctrl_set_ktls_tx_ctrl_msg:
      session->_next_type = static_cast<uint8_t>(number);
      return 0;
    case bio_ctrl_clear_ktls_tx_ctrl_msg:
      session->_next_type = 0;
      return 0;
    default:
      return 0;
  }
}

// ---- handshake and records ---------------------------------------------

Failure Session::classify_failure(int ssl_error) const {
  if (_first_count > 0 && static_cast<unsigned char>(_first_bytes[0]) != 0x16 &&
      looks_like_http(_first_bytes, _first_count)) {
    return Failure::plain_http;
  }
  if (ssl_error == SSL_ERROR_SSL) {
    unsigned long code = ERR_peek_error();
    int reason = ERR_GET_REASON(code);
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_WRONG_VERSION_NUMBER ||
        reason == SSL_R_VERSION_TOO_LOW || reason == SSL_R_UNKNOWN_PROTOCOL) {
      return Failure::version;
    }
    if (reason == SSL_R_NO_SHARED_CIPHER || reason == SSL_R_NO_SUITABLE_KEY_SHARE ||
        reason == SSL_R_NO_APPLICATION_PROTOCOL || reason == SSL_R_NO_SHARED_GROUPS) {
      return Failure::no_common;
    }
  }
  return Failure::protocol;
}

Progress Session::handshake() {
  if (_handshake_done) {
    return Progress::done;
  }
  if (_failure != Failure::none) {
    return Progress::failed;
  }
  if (_ssl == nullptr && !start()) {
    _failure = Failure::protocol;  // no memory for the session
    return Progress::failed;
  }
  int result = SSL_do_handshake(_ssl);
  if (result == 1) {
    if (!_sealer.loaded() || _seal_failed) {
      // A cipher whose keys OpenSSL kept (the context's cipher lists allow
      // none such): nothing could be sent.
      _failure = Failure::keys;
      return Progress::failed;
    }
    _handshake_done = true;
    return Progress::done;
  }
  int error = SSL_get_error(_ssl, result);
  if (error == SSL_ERROR_WANT_READ) {
    return Progress::want_input;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    return Progress::want_output;
  }
  _failure = classify_failure(error);
  ERR_clear_error();
  return Progress::failed;
}

long Session::read(char* destination, size_t room) {
  if (room == 0) {
    return 0;
  }
  size_t got = 0;
  int result = SSL_read_ex(_ssl, destination, room, &got);
  if (result == 1) {
    return static_cast<long>(got);
  }
  int error = SSL_get_error(_ssl, result);
  ERR_clear_error();
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    return 0;  // (WANT_WRITE: an alert or ticket found no output buffer)
  }
  _reading_ended = true;
  return -1;  // close_notify (SSL_ERROR_ZERO_RETURN), or a broken record
}

bool Session::send_key_update() {
  assert(_out != nullptr && !_record_open);
  if (SSL_key_update(_ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
    ERR_clear_error();
    return false;
  }
  int result = SSL_do_handshake(_ssl);  // writes the KeyUpdate; the BIO rekeys after it
  ERR_clear_error();
  return result == 1 && !_seal_failed;
}

void Session::note_secret_line(std::string_view line) {
  constexpr std::string_view label = "SERVER_TRAFFIC_SECRET_0 ";
  if (!line.starts_with(label)) {
    return;
  }
  line.remove_prefix(label.size());
  size_t space = line.find(' ');  // the client random, then the secret
  if (space == std::string_view::npos) {
    return;
  }
  std::string_view hex = line.substr(space + 1);
  unsigned char secret[48];
  size_t length = hex.size() / 2;
  if (length != 32 && length != 48) {
    return;
  }
  for (size_t i = 0; i < length; ++i) {
    int high = hex_value(hex[2 * i]);
    int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return;
    }
    secret[i] = static_cast<unsigned char>(high << 4 | low);
  }
  _sealer.set_traffic_secret(secret, length);
  OPENSSL_cleanse(secret, sizeof secret);
}

}  // namespace ringhttpd::tls
