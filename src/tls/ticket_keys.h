#pragma once
// Session ticket keys, made and rotated by the process: every worker's
// handshakes and every context (the default pair, each --tls-dir host,
// the pairs a SIGHUP loads) share one TicketKeys, so a ticket one worker
// issued resumes on any other, and across a reload. A key encrypts new
// tickets for one lifetime, then only decrypts for one more (a ticket it
// opens is renewed under the current key); after that its tickets mean a
// full handshake.

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace ringhttpd::tls {

class TicketKeys {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit TicketKeys(std::chrono::seconds lifetime, Clock clock = std::chrono::steady_clock::now);
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // Installs the ticket callback on `context` (and names this as its keys).
  void attach(SSL_CTX* context);
  std::chrono::seconds lifetime() const { return _lifetime; }

 private:
  struct Key {
    unsigned char name[16];
    unsigned char cipher_key[32];  // AES-256-CBC, as OpenSSL's own tickets
    unsigned char mac_key[32];     // HMAC-SHA256
    std::chrono::steady_clock::time_point made;
  };
  static int callback(SSL* ssl, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      EVP_MAC_CTX* mac, int encrypt);
  int on_ticket(unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                int encrypt, bool tls13);
  void rotate_if_old();
  static Key make_key(std::chrono::steady_clock::time_point now);

  std::chrono::seconds _lifetime;
  Clock _clock;
  std::mutex _mutex;  // taken only by handshakes that issue or open a ticket
  Key _current;
  Key _previous;
  bool _have_previous = false;
};

}  // namespace ringhttpd::tls
