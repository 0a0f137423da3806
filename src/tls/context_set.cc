#include "src/tls/context_set.h"

#include "src/tls/session.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace ringhttpd::tls {
namespace {

// ECDHE key exchange and AEAD ciphers only, for TLS 1.2.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3's suites, all AEAD; the sealer (record_sealer.h) knows each.
constexpr const char* tls13_suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr unsigned char session_context[] = "ringhttpd";

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Readable at all? OpenSSL's own message for a missing file is vague
// ("system library"); this one names the errno.
void require_readable(const char* flag, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw CredentialError(std::string("ringhttpd: ") + flag + ": '" + path + "': " + strerror(errno));
  }
  close(fd);
}

int select_http11(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                  unsigned in_length, void*) {
  // The client's list: length-prefixed names.
  for (unsigned at = 0; at < in_length;) {
    unsigned length = in[at];
    if (at + 1 + length > in_length) {
      break;
    }
    if (length == 8 && std::memcmp(in + at + 1, "http/1.1", 8) == 0) {
      *out = in + at + 1;
      *out_length = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    at += 1 + length;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol
}

ContextPtr make_context(const std::string& cert, const char* cert_flag, const std::string& key,
                        const char* key_flag, TicketKeys& keys) {
  require_readable(cert_flag, cert);
  require_readable(key_flag, key);
  ContextPtr context(SSL_CTX_new(TLS_server_method()));
  if (!context) {
    throw CredentialError("ringhttpd: TLS: " + last_openssl_error());
  }
  SSL_CTX* ctx = context.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cipher_list(ctx, tls12_ciphers);
  SSL_CTX_set_ciphersuites(ctx, tls13_suites);
  // The write keys go to the session's BIO at the change of cipher state
  // (tls/session.h): OpenSSL offers them only with this option.
  SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
  // TLS 1.3: the traffic secret, for a KeyUpdate the client asks for.
  SSL_CTX_set_keylog_callback(ctx, [](const SSL* ssl, const char* line) {
    if (auto* session = static_cast<Session*>(SSL_get_app_data(ssl))) {
      session->note_secret_line(line);
    }
  });
  // One TLS 1.3 ticket per handshake (OpenSSL's default is two): a client
  // resumes with one, and each costs a seal and a record.
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  // Resumption is by ticket only (RFC 5077, RFC 8446 4.6.1): stateless,
  // so every worker resumes what any issued, without the lock OpenSSL's
  // server cache takes on each handshake (one cache for all workers) or
  // memory that grows with the clients (a session each, up to its size).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_timeout(ctx, static_cast<long>(keys.lifetime().count()));
  // Records are built into the connection's own buffers (tls/session.h);
  // OpenSSL's are freed while a connection is idle.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  keys.attach(ctx);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    throw CredentialError(std::string("ringhttpd: ") + cert_flag + ": '" + cert +
                          "': not a PEM certificate: " + last_openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string reason = last_openssl_error();
    if (reason.find("values mismatch") != std::string::npos ||
        reason.find("key values mismatch") != std::string::npos) {
      throw CredentialError(std::string("ringhttpd: ") + key_flag + ": '" + key +
                            "' does not match the certificate in '" + cert + "'");
    }
    throw CredentialError(std::string("ringhttpd: ") + key_flag + ": '" + key +
                          "': not a PEM private key: " + reason);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    throw CredentialError(std::string("ringhttpd: ") + key_flag + ": '" + key +
                          "' does not match the certificate in '" + cert + "'");
  }
  return context;
}

}  // namespace

std::string last_openssl_error() {
  unsigned long code = ERR_get_error();
  std::string text = code == 0 ? "unknown error" : ERR_reason_error_string(code) != nullptr
                                                       ? ERR_reason_error_string(code)
                                                       : "error " + std::to_string(code);
  ERR_clear_error();
  return text;
}

ContextSet::~ContextSet() = default;

std::shared_ptr<const ContextSet> ContextSet::load(const CredentialPaths& paths, TicketKeys& keys) {
  std::shared_ptr<ContextSet> set(new ContextSet());
  set->_default = make_context(paths.cert, "--tls-cert", paths.key, "--tls-key", keys);
  if (!paths.dir.empty()) {
    DIR* dir = opendir(paths.dir.c_str());
    if (dir == nullptr) {
      throw CredentialError("ringhttpd: --tls-dir: '" + paths.dir + "': " + strerror(errno));
    }
    std::vector<std::string> hosts;
    while (dirent* entry = readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name.size() > 4 && name.ends_with(".pem") && name[0] != '.') {
        hosts.emplace_back(name.substr(0, name.size() - 4));
      }
    }
    closedir(dir);
    for (const std::string& host : hosts) {
      std::string cert = paths.dir + "/" + host + ".pem";
      std::string key = paths.dir + "/" + host + ".key";
      set->_hosts.emplace(lower(host), make_context(cert, "--tls-dir", key, "--tls-dir", keys));
    }
  }
  // SNI: the default context's callback switches a handshake to its host's.
  SSL_CTX_set_tlsext_servername_callback(set->_default.get(), &ContextSet::on_server_name);
  SSL_CTX_set_tlsext_servername_arg(set->_default.get(), set.get());
  return set;
}

SSL_CTX* ContextSet::for_host(std::string_view host) const {
  auto found = _hosts.find(lower(host));
  return found == _hosts.end() ? nullptr : found->second.get();
}

int ContextSet::on_server_name(SSL* ssl, int*, void* set) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name != nullptr) {
    if (SSL_CTX* host = static_cast<const ContextSet*>(set)->for_host(name)) {
      SSL_set_SSL_CTX(ssl, host);
    }
  }
  return SSL_TLSEXT_ERR_OK;  // an unknown name gets the default certificate
}

}  // namespace ringhttpd::tls
