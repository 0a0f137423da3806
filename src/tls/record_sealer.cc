#include "src/tls/record_sealer.h"

#include <linux/tls.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include <cassert>
#include <cstring>

namespace ringhttpd::tls {
namespace {

constexpr uint32_t header_bytes = 5;
constexpr uint32_t tag_bytes = 16;
constexpr uint32_t explicit_nonce_bytes = 8;

void put_u64(unsigned char* out, uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<unsigned char>(value);
    value >>= 8;
  }
}

uint64_t get_u64(const unsigned char* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | in[i];
  }
  return value;
}

void put_header(char* record, uint8_t type, uint32_t length) {
  auto* out = reinterpret_cast<unsigned char*>(record);
  out[0] = type;
  out[1] = 3;  // legacy_record_version 0x0303 for both versions
  out[2] = 3;
  out[3] = static_cast<unsigned char>(length >> 8);
  out[4] = static_cast<unsigned char>(length);
}

// HKDF-Expand-Label (RFC 8446 7.1) with an empty context.
bool expand_label(const unsigned char* secret, size_t secret_length, const char* label,
                  unsigned char* out, size_t out_length) {
  unsigned char info[2 + 1 + 255 + 1];
  size_t label_length = std::strlen(label) + 6;
  info[0] = static_cast<unsigned char>(out_length >> 8);
  info[1] = static_cast<unsigned char>(out_length);
  info[2] = static_cast<unsigned char>(label_length);
  std::memcpy(info + 3, "tls13 ", 6);
  std::memcpy(info + 9, label, label_length - 6);
  info[3 + label_length] = 0;  // context: empty
  size_t info_length = 3 + label_length + 1;

  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* context = kdf != nullptr ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (context == nullptr) {
    return false;
  }
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[] = "SHA256";
  char digest384[] = "SHA384";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, secret_length == 48 ? digest384 : digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(secret),
                                        secret_length),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, info_length),
      OSSL_PARAM_construct_end(),
  };
  bool ok = EVP_KDF_derive(context, out, out_length, params) == 1;
  EVP_KDF_CTX_free(context);
  return ok;
}

}  // namespace

const char* aead_name(Aead aead) {
  switch (aead) {
    case Aead::aes_128_gcm: return "AES-128-GCM";
    case Aead::aes_256_gcm: return "AES-256-GCM";
    case Aead::chacha20_poly1305: return "ChaCha20-Poly1305";
  }
  return "?";
}

RecordSealer::~RecordSealer() {
  EVP_CIPHER_CTX_free(_context);
  OPENSSL_cleanse(_secret, sizeof _secret);
  OPENSSL_cleanse(_kernel_info, sizeof _kernel_info);
  OPENSSL_cleanse(_static_iv, sizeof _static_iv);
}

namespace {

// Fetched from the provider once: with OpenSSL 3, an EVP_aes_128_gcm()
// passed to an init is looked up by name again each time (string compares
// and a lock, which showed in a profile of one handshake per request).
const EVP_CIPHER* fetched(Aead aead) {
  static EVP_CIPHER* const ciphers[3] = {
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr),
  };
  return ciphers[static_cast<size_t>(aead)];
}

}  // namespace

bool RecordSealer::start_cipher(const unsigned char* key) {
  const EVP_CIPHER* cipher = fetched(_aead);
  if (_context == nullptr) {
    _context = EVP_CIPHER_CTX_new();
  }
  if (_context == nullptr || cipher == nullptr ||
      EVP_EncryptInit_ex(_context, cipher, nullptr, key, nullptr) != 1) {
    EVP_CIPHER_CTX_free(_context);
    _context = nullptr;
    return false;
  }
  return true;
}

bool RecordSealer::load(const void* crypto_info) {
  const auto* info = static_cast<const tls_crypto_info*>(crypto_info);
  if (info->version != TLS_1_2_VERSION && info->version != TLS_1_3_VERSION) {
    return false;
  }
  _version = info->version;
  bool tls13 = _version == TLS_1_3_VERSION;
  const unsigned char* key = nullptr;
  const unsigned char* rec_seq = nullptr;
  switch (info->cipher_type) {
    case TLS_CIPHER_AES_GCM_128: {
      const auto* gcm = static_cast<const tls12_crypto_info_aes_gcm_128*>(crypto_info);
      _aead = Aead::aes_128_gcm;
      _key_length = sizeof gcm->key;
      key = gcm->key;
      rec_seq = gcm->rec_seq;
      std::memcpy(_static_iv, gcm->salt, 4);
      std::memcpy(_static_iv + 4, gcm->iv, 8);
      _kernel_info_length = sizeof *gcm;
      break;
    }
    case TLS_CIPHER_AES_GCM_256: {
      const auto* gcm = static_cast<const tls12_crypto_info_aes_gcm_256*>(crypto_info);
      _aead = Aead::aes_256_gcm;
      _key_length = sizeof gcm->key;
      key = gcm->key;
      rec_seq = gcm->rec_seq;
      std::memcpy(_static_iv, gcm->salt, 4);
      std::memcpy(_static_iv + 4, gcm->iv, 8);
      _kernel_info_length = sizeof *gcm;
      break;
    }
    case TLS_CIPHER_CHACHA20_POLY1305: {
      const auto* chacha = static_cast<const tls12_crypto_info_chacha20_poly1305*>(crypto_info);
      _aead = Aead::chacha20_poly1305;
      _key_length = sizeof chacha->key;
      key = chacha->key;
      rec_seq = chacha->rec_seq;
      std::memcpy(_static_iv, chacha->iv, 12);
      _kernel_info_length = sizeof *chacha;
      break;
    }
    default:
      return false;
  }
  static_assert(sizeof(tls12_crypto_info_aes_gcm_256) <= sizeof _kernel_info);
  std::memcpy(_kernel_info, crypto_info, _kernel_info_length);
  _sequence = get_u64(rec_seq);
  bool explicit_nonce = !tls13 && _aead != Aead::chacha20_poly1305;
  _prefix_bytes = header_bytes + (explicit_nonce ? explicit_nonce_bytes : 0);
  _suffix_bytes = tag_bytes + (tls13 ? 1 : 0);
  return start_cipher(key);
}

uint32_t RecordSealer::seal(char* record, uint32_t length, uint8_t content_type) {
  assert(_context != nullptr && length <= max_record_payload);
  auto* payload = reinterpret_cast<unsigned char*>(record + _prefix_bytes);
  unsigned char nonce[12];
  unsigned char aad[13];
  size_t aad_length = 0;
  uint32_t sealed_length = length;
  unsigned char sequence[8];
  put_u64(sequence, _sequence);
  if (_version == TLS_1_3_VERSION) {
    payload[length] = content_type;  // TLSInnerPlaintext, no padding
    sealed_length = length + 1;
    put_header(record, record_application_data, sealed_length + tag_bytes);
    std::memcpy(aad, record, header_bytes);  // the record header is the AAD
    aad_length = header_bytes;
  } else {
    uint32_t record_length = _prefix_bytes - header_bytes + length + tag_bytes;
    put_header(record, content_type, record_length);
    std::memcpy(aad, sequence, 8);  // seq_num + type + version + length (RFC 5246 6.2.3.3)
    aad[8] = content_type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = static_cast<unsigned char>(length >> 8);
    aad[12] = static_cast<unsigned char>(length);
    aad_length = 13;
  }
  if (_prefix_bytes > header_bytes) {
    // TLS 1.2 GCM: the salt and an explicit nonce sent in the record; the
    // sequence number is never repeated under one key, so it serves.
    std::memcpy(nonce, _static_iv, 4);
    std::memcpy(nonce + 4, sequence, 8);
    std::memcpy(record + header_bytes, sequence, 8);
  } else {
    std::memcpy(nonce, _static_iv, 12);
    for (int i = 0; i < 8; ++i) {
      nonce[4 + i] ^= sequence[i];
    }
  }
  int out = 0;
  bool ok = EVP_EncryptInit_ex(_context, nullptr, nullptr, nullptr, nonce) == 1 &&
            EVP_EncryptUpdate(_context, nullptr, &out, aad, static_cast<int>(aad_length)) == 1 &&
            EVP_EncryptUpdate(_context, payload, &out, payload, static_cast<int>(sealed_length)) == 1 &&
            EVP_EncryptFinal_ex(_context, payload + out, &out) == 1 &&
            EVP_CIPHER_CTX_ctrl(_context, EVP_CTRL_AEAD_GET_TAG, tag_bytes, payload + sealed_length) == 1;
  if (!ok) {
    return 0;
  }
  ++_sequence;
  return _prefix_bytes + length + _suffix_bytes;
}

void RecordSealer::set_traffic_secret(const unsigned char* secret, size_t length) {
  if (length == 32 || length == 48) {
    std::memcpy(_secret, secret, length);
    _secret_length = length;
  }
}

bool RecordSealer::update_keys() {
  if (_version != TLS_1_3_VERSION || _secret_length == 0) {
    return false;
  }
  unsigned char next[48];
  unsigned char key[32];
  unsigned char iv[12];
  bool ok = expand_label(_secret, _secret_length, "traffic upd", next, _secret_length) &&
            expand_label(next, _secret_length, "key", key, _key_length) &&
            expand_label(next, _secret_length, "iv", iv, sizeof iv) && start_cipher(key);
  if (ok) {
    std::memcpy(_secret, next, _secret_length);
    std::memcpy(_static_iv, iv, sizeof iv);
    _sequence = 0;
    // The kernel's form follows: key, and the iv split as that struct has it.
    auto* info = reinterpret_cast<tls_crypto_info*>(_kernel_info);
    if (info->cipher_type == TLS_CIPHER_CHACHA20_POLY1305) {
      auto* chacha = reinterpret_cast<tls12_crypto_info_chacha20_poly1305*>(_kernel_info);
      std::memcpy(chacha->key, key, sizeof chacha->key);
      std::memcpy(chacha->iv, iv, sizeof chacha->iv);
    } else if (info->cipher_type == TLS_CIPHER_AES_GCM_128) {
      auto* gcm = reinterpret_cast<tls12_crypto_info_aes_gcm_128*>(_kernel_info);
      std::memcpy(gcm->key, key, sizeof gcm->key);
      std::memcpy(gcm->salt, iv, 4);
      std::memcpy(gcm->iv, iv + 4, 8);
    } else {
      auto* gcm = reinterpret_cast<tls12_crypto_info_aes_gcm_256*>(_kernel_info);
      std::memcpy(gcm->key, key, sizeof gcm->key);
      std::memcpy(gcm->salt, iv, 4);
      std::memcpy(gcm->iv, iv + 4, 8);
    }
  }
  OPENSSL_cleanse(next, sizeof next);
  OPENSSL_cleanse(key, sizeof key);
  return ok;
}

std::pair<const void*, unsigned> RecordSealer::kernel_keys() {
  auto* info = reinterpret_cast<tls_crypto_info*>(_kernel_info);
  unsigned char sequence[8];
  put_u64(sequence, _sequence);
  switch (info->cipher_type) {
    case TLS_CIPHER_AES_GCM_128: {
      auto* gcm = reinterpret_cast<tls12_crypto_info_aes_gcm_128*>(_kernel_info);
      std::memcpy(gcm->rec_seq, sequence, 8);
      if (_version == TLS_1_2_VERSION) {
        std::memcpy(gcm->iv, sequence, 8);  // the kernel's explicit nonces go on from ours
      }
      break;
    }
    case TLS_CIPHER_AES_GCM_256: {
      auto* gcm = reinterpret_cast<tls12_crypto_info_aes_gcm_256*>(_kernel_info);
      std::memcpy(gcm->rec_seq, sequence, 8);
      if (_version == TLS_1_2_VERSION) {
        std::memcpy(gcm->iv, sequence, 8);
      }
      break;
    }
    default: {
      auto* chacha = reinterpret_cast<tls12_crypto_info_chacha20_poly1305*>(_kernel_info);
      std::memcpy(chacha->rec_seq, sequence, 8);
      break;
    }
  }
  return {_kernel_info, _kernel_info_length};
}

}  // namespace ringhttpd::tls
