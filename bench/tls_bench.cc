// TLS microbenchmarks, both sides in memory: a record sealed in place per
// suite (what a file body costs per 16 KiB), a small response put into
// records (what a 1 KiB response adds), and a handshake, full and resumed
// (client and server together: OpenSSL's client does the same work again).

#include <benchmark/benchmark.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "src/tls/context_set.h"
#include "src/tls/session.h"
#include "tests/support/self_signed.h"

namespace ringhttpd::tls {
namespace {

std::shared_ptr<const ContextSet> contexts() {
  static TicketKeys keys(std::chrono::hours(1));
  static std::shared_ptr<const ContextSet> set = test::self_signed_contexts("bench", keys);
  return set;
}

struct Client {
  explicit Client(const char* suite, SSL_SESSION* resume = nullptr) {
    static SSL_CTX* shared = SSL_CTX_new(TLS_client_method());
    ssl = SSL_new(shared);
    if (suite != nullptr) {
      SSL_set_ciphersuites(ssl, suite);
    }
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    if (resume != nullptr) {
      SSL_set_session(ssl, resume);
    }
  }
  ~Client() {
    SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
  }
  SSL* ssl;
  BIO* in;
  BIO* out;
};

// A whole handshake; the client reads the ticket. True when both finished.
bool handshake(Session& server, Client& client, std::vector<char>& buffer) {
  server.attach_output(buffer.data(), static_cast<uint32_t>(buffer.size()));
  char chunk[16384];
  for (int round = 0; round < 6; ++round) {
    SSL_do_handshake(client.ssl);
    int n;
    while ((n = BIO_read(client.out, chunk, sizeof chunk)) > 0) {
      server.feed(chunk, static_cast<size_t>(n));
      server.handshake();
      server.keep_unread();
    }
    std::string_view output = server.output();
    BIO_write(client.in, output.data(), static_cast<int>(output.size()));
    server.consume_output(output.size());
    if (server.handshake_done() && SSL_is_init_finished(client.ssl)) {
      break;
    }
  }
  SSL_read(client.ssl, chunk, 1);  // takes the ticket
  server.detach_output();
  return server.handshake_done();
}

void BM_TlsHandshake(benchmark::State& state) {
  bool resumed = state.range(0) == 1;
  std::vector<char> buffer(70000);
  SSL_SESSION* ticket = nullptr;
  {
    Session server(contexts());
    Client client(nullptr);
    handshake(server, client, buffer);
    ticket = SSL_get1_session(client.ssl);
  }
  for (auto _ : state) {
    Session server(contexts());
    Client client(nullptr, resumed ? ticket : nullptr);
    if (!handshake(server, client, buffer) || server.resumed() != resumed) {
      state.SkipWithError("handshake failed");
      break;
    }
  }
  SSL_SESSION_free(ticket);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(resumed ? "resumed, client and server" : "full, client and server");
}
BENCHMARK(BM_TlsHandshake)->Arg(0)->Arg(1);

// One 16 KiB record sealed in place: the cost per 16 KiB of a file body.
void BM_TlsSealRecord(benchmark::State& state) {
  static const char* suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                 "TLS_CHACHA20_POLY1305_SHA256"};
  const char* suite = suites[state.range(0)];
  std::vector<char> buffer(70000);
  Session server(contexts());
  Client client(suite);
  handshake(server, client, buffer);
  server.attach_output(buffer.data(), static_cast<uint32_t>(buffer.size()));
  iovec vectors[1];
  for (auto _ : state) {
    uint32_t planned = 0;
    server.plan_read(max_record_payload, vectors, 1, planned);
    server.after_read(planned);  // full: sealed where it lies
    server.consume_output(server.output().size());
  }
  server.detach_output();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * max_record_payload);
  state.SetLabel(suite);
}
BENCHMARK(BM_TlsSealRecord)->DenseRange(0, 2);

// A 1 KiB response with its head, from memory, into one record.
void BM_TlsAppendSmallResponse(benchmark::State& state) {
  std::vector<char> buffer(70000);
  Session server(contexts());
  Client client(nullptr);
  handshake(server, client, buffer);
  server.attach_output(buffer.data(), static_cast<uint32_t>(buffer.size()));
  std::string head(230, 'h');
  std::string body(1024, 'b');
  for (auto _ : state) {
    server.append(head.data(), static_cast<uint32_t>(head.size()));
    server.append(body.data(), static_cast<uint32_t>(body.size()));
    server.seal_open();
    server.consume_output(server.output().size());
  }
  server.detach_output();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsAppendSmallResponse);

}  // namespace
}  // namespace ringhttpd::tls
