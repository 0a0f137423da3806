#include "src/tls/session.h"

#include <openssl/err.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace ringhttpd::tls {
namespace {

// Room for the output a write may add beyond its plaintext: per 16 KiB
// record a header, nonce and tag (at most 29 bytes for TLS 1.2 GCM), and
// the two TLS 1.3 session tickets OpenSSL sends with the first write.
constexpr size_t record_overhead_margin = 4096;
constexpr size_t record_plaintext = 16 * 1024;
// The most output the BIO takes: the bound, and one more write's margin.
constexpr size_t output_hard_limit = Session::output_bound + record_overhead_margin;

bool looks_like_http(const char* bytes, size_t count) {
  static constexpr std::string_view methods[] = {"GET ", "HEAD", "POST", "PUT ", "DELE", "OPTI",
                                                 "PATC", "CONN", "TRAC", "PRI "};
  std::string_view start(bytes, count);
  for (std::string_view method : methods) {
    if (start.substr(0, 4) == method.substr(0, std::min<size_t>(4, start.size()))) {
      return true;
    }
  }
  return false;
}

}  // namespace

const char* failure_name(Failure failure) {
  switch (failure) {
    case Failure::none: return "none";
    case Failure::version: return "version";
    case Failure::plain_http: return "plain_http";
    case Failure::no_common: return "no_common";
    case Failure::protocol: return "protocol";
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

Session::Session(std::shared_ptr<const ContextSet> contexts) : _contexts(std::move(contexts)) {
  _ssl = SSL_new(_contexts->default_context());
  BIO* bio = _ssl != nullptr ? BIO_new(methods()) : nullptr;
  if (bio == nullptr) {
    SSL_free(_ssl);
    throw std::runtime_error("TLS: cannot make a session: " + last_openssl_error());
  }
  BIO_set_data(bio, this);
  SSL_set_bio(_ssl, bio, bio);  // one BIO, both directions; the SSL owns it
  SSL_set_accept_state(_ssl);
}

Session::~Session() { SSL_free(_ssl); }

std::string_view Session::server_name() const {
  const char* name = SSL_get_servername(_ssl, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string_view() : std::string_view(name);
}

void Session::feed(const char* bytes, size_t length) {
  if (_first_count < sizeof _first_bytes) {
    size_t take = std::min(length, sizeof _first_bytes - _first_count);
    std::memcpy(_first_bytes + _first_count, bytes, take);
    _first_count += take;
  }
  if (_in_start == _in_end) {
    _in_start = _in_end = 0;
  }
  if (_in_capacity - _in_end < length) {
    size_t held = _in_end - _in_start;
    size_t wanted = std::max(held + length, size_t{4096});
    if (wanted > _in_capacity) {
      auto larger = std::make_unique<char[]>(wanted);
      if (held > 0) {
        std::memcpy(larger.get(), _in.get() + _in_start, held);
      }
      _in = std::move(larger);
      _in_capacity = wanted;
    } else {
      std::memmove(_in.get(), _in.get() + _in_start, held);
    }
    _in_start = 0;
    _in_end = held;
  }
  std::memcpy(_in.get() + _in_end, bytes, length);
  _in_end += length;
}

int Session::bio_read(BIO* bio, char* destination, int length) {
  auto* session = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  size_t held = session->_in_end - session->_in_start;
  if (held == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  size_t take = std::min(held, static_cast<size_t>(length));
  std::memcpy(destination, session->_in.get() + session->_in_start, take);
  session->_in_start += take;
  if (session->_in_start == session->_in_end) {
    // Drained: an idle session holds no input buffer.
    session->_in.reset();
    session->_in_capacity = session->_in_start = session->_in_end = 0;
  }
  return static_cast<int>(take);
}

int Session::bio_write(BIO* bio, const char* bytes, int length) {
  auto* session = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  auto count = static_cast<size_t>(length);
  size_t held = session->_out_end - session->_out_start;
  if (held + count > output_hard_limit) {
    BIO_set_retry_write(bio);  // write() keeps below this; a handshake's flight fits
    return -1;
  }
  if (session->_out_capacity - session->_out_end < count) {
    if (session->_out == nullptr || session->_out_capacity < held + count) {
      size_t capacity = std::max(held + count, std::min(output_hard_limit, size_t{16 * 1024}));
      capacity = std::max(capacity, std::min(output_hard_limit, 2 * session->_out_capacity));
      auto larger = std::make_unique<char[]>(capacity);
      if (held > 0) {
        std::memcpy(larger.get(), session->_out.get() + session->_out_start, held);
      }
      session->_out = std::move(larger);
      session->_out_capacity = capacity;
    } else {
      std::memmove(session->_out.get(), session->_out.get() + session->_out_start, held);
    }
    session->_out_start = 0;
    session->_out_end = held;
  }
  std::memcpy(session->_out.get() + session->_out_end, bytes, count);
  session->_out_end += count;
  return length;
}

long Session::bio_ctrl(BIO* bio, int command, long, void*) {
  auto* session = static_cast<Session*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // the caller sends output() itself
    case BIO_CTRL_PENDING:
      return static_cast<long>(session->_in_end - session->_in_start);
    case BIO_CTRL_WPENDING:
      return static_cast<long>(session->_out_end - session->_out_start);
    default:
      return 0;
  }
}

void Session::consume_output(size_t length) {
  assert(length <= _out_end - _out_start);
  _out_start += length;
  if (_out_start == _out_end) {
    _out.reset();  // sent: nothing held until the next records
    _out_capacity = _out_start = _out_end = 0;
  }
}

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
  int result = SSL_do_handshake(_ssl);
  if (result == 1) {
    _handshake_done = true;
    return Progress::done;
  }
  int error = SSL_get_error(_ssl, result);
  if (error == SSL_ERROR_WANT_READ) {
    return Progress::want_input;
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
  if (error == SSL_ERROR_WANT_READ) {
    return 0;
  }
  return -1;  // close_notify (SSL_ERROR_ZERO_RETURN), or a broken record
}

long Session::write(const char* bytes, size_t length) {
  size_t total = 0;
  while (total < length) {
    size_t held = _out_end - _out_start;
    if (held + record_overhead_margin >= output_bound) {
      break;
    }
    size_t room = output_bound - held - record_overhead_margin;
    size_t piece = std::min({length - total, room, record_plaintext});
    size_t written = 0;
    if (SSL_write_ex(_ssl, bytes + total, piece, &written) != 1) {
      int error = SSL_get_error(_ssl, 0);
      ERR_clear_error();
      if (error == SSL_ERROR_WANT_WRITE) {
        break;  // the margin was not enough: send what is there first
      }
      return total > 0 ? static_cast<long>(total) : -1;
    }
    total += written;
  }
  return static_cast<long>(total);
}

void Session::close_notify() {
  if (_handshake_done) {
    SSL_shutdown(_ssl);
    ERR_clear_error();
  }
}

}  // namespace ringhttpd::tls
