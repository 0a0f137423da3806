#include "src/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace ringhttpd::tls {
namespace {

int ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool set_mac_key(EVP_MAC_CTX* mac, unsigned char* key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

TicketKeys::TicketKeys(std::chrono::seconds lifetime, Clock clock)
    : _lifetime(lifetime), _clock(std::move(clock)), _current(make_key(_clock())), _previous{} {}

TicketKeys::Key TicketKeys::make_key(std::chrono::steady_clock::time_point now) {
  Key key{};
  if (RAND_bytes(key.name, sizeof key.name) != 1 ||
      RAND_bytes(key.cipher_key, sizeof key.cipher_key) != 1 ||
      RAND_bytes(key.mac_key, sizeof key.mac_key) != 1) {
    throw std::runtime_error("TLS: no random bytes for a session ticket key");
  }
  key.made = now;
  return key;
}

void TicketKeys::attach(SSL_CTX* context) {
  SSL_CTX_set_ex_data(context, ex_index(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(context, &TicketKeys::callback);
}

int TicketKeys::callback(SSL* ssl, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                         EVP_MAC_CTX* mac, int encrypt) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
  return keys == nullptr ? -1 : keys->on_ticket(name, iv, cipher, mac, encrypt, SSL_version(ssl) == TLS1_3_VERSION);
}

void TicketKeys::rotate_if_old() {
  auto now = _clock();
  if (now - _current.made < _lifetime) {
    return;
  }
  // A key two lifetimes old opens nothing any more: its tickets are
  // older than any session may live (SSL_CTX_set_timeout).
  _previous = _current;
  _have_previous = now - _current.made < 2 * _lifetime;
  _current = make_key(now);
}

// Returns 1: done (issue, or opened with the current key); 2: opened, and
// a new ticket goes with the handshake (under the previous key; and always
// for TLS 1.3, whose clients use a ticket once, RFC 8446 C.4: without a new
// one, every other connection of such a client was a full handshake, as
// seen with wrk); 0: unknown key, full handshake; -1: failure.
int TicketKeys::on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                          EVP_MAC_CTX* mac, int encrypt, bool tls13) {
  std::lock_guard lock(_mutex);
  rotate_if_old();
  if (encrypt == 1) {
    if (RAND_bytes(iv, 16) != 1) {
      return -1;
    }
    std::memcpy(name, _current.name, sizeof _current.name);
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, _current.cipher_key, iv) != 1 ||
        !set_mac_key(mac, _current.mac_key)) {
      return -1;
    }
    return 1;
  }
  Key* key = nullptr;
  if (std::memcmp(name, _current.name, sizeof _current.name) == 0) {
    key = &_current;
  } else if (_have_previous && std::memcmp(name, _previous.name, sizeof _previous.name) == 0) {
    key = &_previous;
  }
  if (key == nullptr) {
    return 0;
  }
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->cipher_key, iv) != 1 ||
      !set_mac_key(mac, key->mac_key)) {
    return -1;
  }
  return key == &_current && !tls13 ? 1 : 2;
}

}  // namespace ringhttpd::tls
