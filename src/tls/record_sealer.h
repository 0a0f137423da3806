#pragma once
// TLS records of one direction (server to client), sealed here instead of
// inside OpenSSL: the AEAD of TLS 1.2 (RFC 5288, RFC 7905) and TLS 1.3
// (RFC 8446 5.2) with AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305, in
// place, in a buffer the caller owns. Plaintext read from a file goes
// straight into a record's payload and is encrypted where it lies: one
// copy fewer than handing it to SSL_write, which encrypts into a buffer
// of its own.
//
// The keys come from OpenSSL in the form the kernel's TLS_TX socket
// option takes (linux/tls.h): when a session's BIO says it can do kernel
// TLS, OpenSSL hands it the write keys at the change of cipher state
// (tls/session.h). The same keys, with the record sequence reached here,
// can go on to the kernel (kernel_keys()) when it has the tls ULP.

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace ringhttpd::tls {

// Content types (RFC 8446 5.1).
inline constexpr uint8_t record_alert = 21;
inline constexpr uint8_t record_handshake = 22;
inline constexpr uint8_t record_application_data = 23;
// The most plaintext in one record (RFC 8446 5.1).
inline constexpr uint32_t max_record_payload = 16384;

enum class Aead : uint8_t { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };
const char* aead_name(Aead aead);

class RecordSealer {
 public:
  RecordSealer() = default;
  ~RecordSealer();
  RecordSealer(const RecordSealer&) = delete;
  RecordSealer& operator=(const RecordSealer&) = delete;

  // `crypto_info`: one of linux/tls.h's tls12_crypto_info_aes_gcm_128,
  // _aes_gcm_256 or _chacha20_poly1305 (TLS 1.2 or 1.3). False for any
  // other cipher or version, or when the cipher cannot be set up.
  bool load(const void* crypto_info);
  bool loaded() const { return _context != nullptr; }
  uint16_t version() const { return _version; }
  Aead aead() const { return _aead; }

  // What a record adds around its plaintext: before it the header (and,
  // for TLS 1.2 with GCM, the explicit nonce); after it the tag (and, for
  // TLS 1.3, the inner content type).
  uint32_t prefix_bytes() const { return _prefix_bytes; }
  uint32_t suffix_bytes() const { return _suffix_bytes; }

  // Seals one record in place: `length` (at most max_record_payload) bytes
  // of plaintext lie at record + prefix_bytes(); the header is written
  // before them and the tag after them. Returns the record's size, or 0
  // when the cipher failed (the connection cannot go on).
  uint32_t seal(char* record, uint32_t length, uint8_t content_type);
  uint64_t sequence() const { return _sequence; }

  // TLS 1.3 only: the application traffic secret these keys came from, so
  // that a KeyUpdate can move to the next generation (RFC 8446 7.2).
  void set_traffic_secret(const unsigned char* secret, size_t length);
  bool has_traffic_secret() const { return _secret_length > 0; }
  bool update_keys();

  // The kernel's TLS_TX argument, with the record sequence reached here.
  std::pair<const void*, unsigned> kernel_keys();

 private:
  bool start_cipher(const unsigned char* key);

  EVP_CIPHER_CTX* _context = nullptr;
  uint16_t _version = 0;
  Aead _aead = Aead::aes_128_gcm;
  uint32_t _prefix_bytes = 0;
  uint32_t _suffix_bytes = 0;
  uint32_t _key_length = 0;
  unsigned char _static_iv[12] = {};  // XORed with the sequence (or its salt, for 1.2 GCM)
  uint64_t _sequence = 0;
  unsigned char _secret[48] = {};
  size_t _secret_length = 0;
  // The kernel's form of the current keys: the largest of the structs.
  alignas(8) unsigned char _kernel_info[64] = {};
  unsigned _kernel_info_length = 0;
};

}  // namespace ringhttpd::tls
