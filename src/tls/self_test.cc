#include "src/tls/self_test.h"

#include <openssl/err.h>

#include <string_view>
#include <vector>

#include "src/tls/session.h"

namespace ringhttpd::tls {
namespace {

struct MemoryClient {
  explicit MemoryClient(int version) {
    context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(context, version);
    SSL_CTX_set_max_proto_version(context, version);
    ssl = SSL_new(context);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1);
  }
  ~MemoryClient() {
    SSL_free(ssl);
    SSL_CTX_free(context);
  }
  MemoryClient(const MemoryClient&) = delete;
  MemoryClient& operator=(const MemoryClient&) = delete;
  SSL_CTX* context;
  SSL* ssl;
  BIO* in;
  BIO* out;
};

std::string try_version(const std::shared_ptr<const ContextSet>& contexts, int version,
                        const char* name) {
  MemoryClient client(version);
  Session server(contexts);
  std::vector<char> buffer(64 * 1024);
  server.attach_output(buffer.data(), static_cast<uint32_t>(buffer.size()));
  Progress progress = Progress::want_input;
  for (int round = 0; round < 10 && progress != Progress::done; ++round) {
    SSL_do_handshake(client.ssl);
    char chunk[16384];
    int n;
    while ((n = BIO_read(client.out, chunk, sizeof chunk)) > 0) {
      server.feed(chunk, static_cast<size_t>(n));
      progress = server.handshake();
      server.keep_unread();
    }
    std::string_view output = server.output();
    BIO_write(client.in, output.data(), static_cast<int>(output.size()));
    server.consume_output(output.size());
    if (progress == Progress::failed) {
      return std::string("TLS self-test (") + name + "): the handshake failed (" +
             failure_name(server.failure()) + ")";
    }
  }
  if (progress != Progress::done || !server.sealer().loaded()) {
    return std::string("TLS self-test (") + name +
           "): OpenSSL did not hand the write keys to ringhttpd (an OpenSSL built without "
           "kernel TLS support cannot be used)";
  }
  constexpr std::string_view probe = "ringhttpd self-test";
  server.append(probe.data(), static_cast<uint32_t>(probe.size()));
  server.seal_open();
  std::string_view output = server.output();
  BIO_write(client.in, output.data(), static_cast<int>(output.size()));
  server.consume_output(output.size());
  char read_back[64] = {};
  int n = SSL_read(client.ssl, read_back, sizeof read_back);
  ERR_clear_error();
  server.detach_output();
  if (n != static_cast<int>(probe.size()) || std::string_view(read_back, probe.size()) != probe) {
    return std::string("TLS self-test (") + name + "): a sealed record did not decrypt on OpenSSL's client";
  }
  return "";
}

}  // namespace

std::string self_test(const std::shared_ptr<const ContextSet>& contexts) {
  for (auto [version, name] : {std::pair<int, const char*>{TLS1_3_VERSION, "TLS 1.3"},
                               {TLS1_2_VERSION, "TLS 1.2"}}) {
    if (std::string problem = try_version(contexts, version, name); !problem.empty()) {
      return problem;
    }
  }
  return "";
}

}  // namespace ringhttpd::tls
