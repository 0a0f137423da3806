#pragma once
// The TLS configuration every worker's handshakes start from: one SSL_CTX
// for the default certificate pair (--tls-cert, --tls-key) and, with
// --tls-dir, one per host that has HOST.pem and HOST.key there; the client's
// SNI name picks the host's context, else the default serves. Loaded whole
// at start and again on SIGHUP: a set is immutable once made, so workers
// read it without locks, and a connection keeps the contexts it started
// with (SSL objects hold references) while new ones use the new set.
//
// Every context: TLS 1.2 and 1.3 only; ECDHE with AEAD ciphers for 1.2
// (1.3's suites are all AEAD); no compression, no renegotiation; ALPN
// picks http/1.1 (a client offering only other protocols is refused with
// no_application_protocol, RFC 7301 3.2); sessions resume by ticket only,
// with keys from a TicketKeys shared by every context: no session cache.

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "src/tls/ticket_keys.h"

namespace ringhttpd::tls {

struct ContextFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using ContextPtr = std::unique_ptr<SSL_CTX, ContextFree>;

// One line naming the flag and the value, for an exit or a kept reload.
class CredentialError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CredentialPaths {
  std::string cert;  // --tls-cert: PEM, the certificate then its chain
  std::string key;   // --tls-key: PEM private key matching it
  std::string dir;   // --tls-dir: HOST.pem and HOST.key per virtual host; empty: none
};

class ContextSet {
 public:
  // Throws CredentialError: a file that cannot be read or parsed, or a key
  // that does not match its certificate.
  static std::shared_ptr<const ContextSet> load(const CredentialPaths& paths, TicketKeys& keys);
  ContextSet(const ContextSet&) = delete;
  ContextSet& operator=(const ContextSet&) = delete;
  ~ContextSet();

  SSL_CTX* default_context() const { return _default.get(); }
  // The context of the host named by SNI (ASCII case ignored), or null.
  SSL_CTX* for_host(std::string_view host) const;
  size_t host_count() const { return _hosts.size(); }

 private:
  ContextSet() = default;
  static int on_server_name(SSL* ssl, int* alert, void* set);

  ContextPtr _default;
  std::map<std::string, ContextPtr, std::less<>> _hosts;  // lower-case names
};

// The one-line text of OpenSSL's last error (and the queue cleared).
std::string last_openssl_error();

}  // namespace ringhttpd::tls
