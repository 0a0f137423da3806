#include "tests/support/self_signed.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>

namespace ringhttpd::test {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::perror(("self_signed: " + what).c_str());
  std::abort();
}

void write_pem(const std::string& path, bool key_file, X509* cert, EVP_PKEY* key) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) {
    fail(path);
  }
  if (key_file) {
    PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_X509(out, cert);
  }
  std::fclose(out);
}

}  // namespace

CertPair write_self_signed(const std::string& dir, const std::string& file, const std::string& name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), std::random_device{}() & 0x7fffffff);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  std::string san = "DNS:" + name;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(cert, key, EVP_sha256());
  CertPair pair{dir + "/" + file + ".pem", dir + "/" + file + ".key"};
  write_pem(pair.cert, false, cert, key);
  write_pem(pair.key, true, cert, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pair;
}

std::shared_ptr<const tls::ContextSet> self_signed_contexts(const std::string& name,
                                                            tls::TicketKeys& keys) {
  char dir[] = "/tmp/ringhttpd-self-signed-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    fail("mkdtemp");
  }
  CertPair pair = write_self_signed(dir, "self", name);
  auto loaded = tls::ContextSet::load({pair.cert, pair.key, ""}, keys);
  unlink(pair.cert.c_str());
  unlink(pair.key.c_str());
  rmdir(dir);
  return loaded;
}

}  // namespace ringhttpd::test
