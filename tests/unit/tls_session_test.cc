// The TLS engine against OpenSSL's own client, both in memory: what the
// ring will carry is exactly what these tests move by hand.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>
#include <cstring>

#include "src/tls/context_set.h"
#include "src/tls/self_test.h"
#include "src/tls/session.h"
#include "tests/support/self_signed.h"

namespace ringhttpd::tls {
namespace {

class Dir {
 public:
  Dir() {
    char pattern[] = "/tmp/ringhttpd-tls-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string path;
};

// OpenSSL's client over two memory BIOs.
struct Client {
  explicit Client(int max_version = 0, const char* sni = nullptr, SSL_SESSION* resume = nullptr) {
    context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(context, 0);  // lets the test offer TLS 1.0/1.1
    SSL_CTX_set_min_proto_version(context, TLS1_VERSION);
    if (max_version != 0) {
      SSL_CTX_set_max_proto_version(context, max_version);
      SSL_CTX_set_cipher_list(context, "DEFAULT@SECLEVEL=0");
    }
    ssl = SSL_new(context);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1);
    if (sni != nullptr) {
      SSL_set_tlsext_host_name(ssl, sni);
    }
    if (resume != nullptr) {
      SSL_set_session(ssl, resume);
    }
  }
  ~Client() {
    // Freed without a shutdown, OpenSSL takes the session out of its cache
    // and marks it not resumable: a real client closes properly.
    SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
    SSL_CTX_free(context);
  }
  std::string take_output() {
    std::string bytes;
    char chunk[4096];
    int n;
    while ((n = BIO_read(out, chunk, sizeof chunk)) > 0) {
      bytes.append(chunk, static_cast<size_t>(n));
    }
    return bytes;
  }
  SSL_CTX* context;
  SSL* ssl;
  BIO* in;
  BIO* out;
};


// The server's output buffer, as the worker's pool lends it.
constexpr uint32_t output_capacity = 4 * (16384 + 64);

void to_client(Session& server, Client& client) {
  server.seal_open();
  std::string_view output = server.output();
  BIO_write(client.in, output.data(), static_cast<int>(output.size()));
  server.consume_output(output.size());
}

// Runs both sides until neither moves; true when both finished. The server
// reads what the client sent where it lies, as it reads a receive buffer.
bool handshake(Session& server, Client& client, std::vector<char>& buffer) {
  if (!server.output_attached()) {
    server.attach_output(buffer.data(), static_cast<uint32_t>(buffer.size()));
  }
  for (int round = 0; round < 20; ++round) {
    int done = SSL_do_handshake(client.ssl);
    std::string bytes = client.take_output();
    Progress progress = Progress::want_input;
    if (!bytes.empty()) {
      server.feed(bytes.data(), bytes.size());
    }
    do {
      progress = server.handshake();
      to_client(server, client);
    } while (progress == Progress::want_output);
    server.keep_unread();
    if (progress == Progress::failed) {
      return false;
    }
    if (done == 1 && progress == Progress::done) {
      return true;
    }
  }
  return false;
}

bool handshake(Session& server, Client& client) {
  static std::vector<char> buffer(output_capacity);
  bool done = handshake(server, client, buffer);
  server.detach_output();
  return done;
}

// Everything the server can decrypt now.
std::string server_reads(Session& server) {
  std::string plain;
  char chunk[8192];
  long n;
  while ((n = server.read(chunk, sizeof chunk)) > 0) {
    plain.append(chunk, static_cast<size_t>(n));
  }
  return plain;
}

std::string client_reads(Client& client) {
  std::string received;
  char chunk[16384];
  int n;
  while ((n = SSL_read(client.ssl, chunk, sizeof chunk)) > 0) {
    received.append(chunk, static_cast<size_t>(n));
  }
  return received;
}

// The server sends `text` as the ring would: appended into the bounded
// buffer, sent, the buffer refilled.
std::string send_appended(Session& server, Client& client, const std::string& text) {
  std::vector<char> buffer(output_capacity);
  server.attach_output(buffer.data(), output_capacity);
  std::string received;
  size_t sent = 0;
  do {
    uint32_t taken = server.append(text.data() + sent,
                                   static_cast<uint32_t>(std::min<size_t>(text.size() - sent, UINT32_MAX)));
    EXPECT_TRUE(taken > 0 || text.empty());
    sent += taken;
    to_client(server, client);
    received += client_reads(client);
  } while (sent < text.size());
  server.detach_output();
  return received;
}

// The same, with the text "read from a file" straight into the records'
// payloads: plan_read() says where, after_read() how much came (`short_by`
// fewer than planned, as a short READ).
std::string send_read(Session& server, Client& client, const std::string& text, uint32_t short_by = 0) {
  std::vector<char> buffer(output_capacity);
  server.attach_output(buffer.data(), output_capacity);
  std::string received;
  size_t sent = 0;
  while (sent < text.size()) {
    iovec vectors[8];
    uint32_t planned = 0;
    unsigned count = server.plan_read(text.size() - sent, vectors, 8, planned);
    EXPECT_GT(count, 0u);
    uint32_t got = planned > short_by ? planned - short_by : planned;
    uint32_t copied = 0;
    for (unsigned i = 0; i < count && copied < got; ++i) {
      size_t take = std::min<size_t>(vectors[i].iov_len, got - copied);
      std::memcpy(vectors[i].iov_base, text.data() + sent + copied, take);
      copied += static_cast<uint32_t>(take);
    }
    server.after_read(got);
    sent += got;
    to_client(server, client);
    received += client_reads(client);
  }
  server.detach_output();
  return received;
}

// Equal, or where they part: binary text is not printed whole.
testing::AssertionResult same_bytes(const std::string& got, const std::string& wanted) {
  if (got == wanted) {
    return testing::AssertionSuccess();
  }
  size_t at = 0;
  while (at < got.size() && at < wanted.size() && got[at] == wanted[at]) {
    ++at;
  }
  return testing::AssertionFailure() << got.size() << " bytes, wanted " << wanted.size()
                                     << "; they differ from byte " << at;
}

std::string random_text(size_t size, uint64_t seed) {
  std::string text(size, '\0');
  std::mt19937_64 random(seed);
  for (char& c : text) {
    c = static_cast<char>(random());
  }
  return text;
}

class TlsSessionTest : public ::testing::Test {
 protected:
  TlsSessionTest() : keys(std::chrono::hours(12), [this] { return now; }) {
    pair = test::write_self_signed(dir.path, "origin", "origin.test");
    contexts = ContextSet::load({pair.cert, pair.key, ""}, keys);
  }
  Dir dir;
  test::CertPair pair;
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  TicketKeys keys;
  std::shared_ptr<const ContextSet> contexts;
};

TEST_F(TlsSessionTest, HandshakeThenRequestAndResponseByteExact) {
  Session server(contexts);
  Client client;
  ASSERT_TRUE(handshake(server, client));
  EXPECT_EQ(SSL_version(client.ssl), TLS1_3_VERSION);
  EXPECT_TRUE(server.sealer().loaded());
  const unsigned char* protocol = nullptr;
  unsigned protocol_length = 0;
  SSL_get0_alpn_selected(client.ssl, &protocol, &protocol_length);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(protocol), protocol_length), "http/1.1");

  std::string request = "GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n";
  SSL_write(client.ssl, request.data(), static_cast<int>(request.size()));
  std::string bytes = client.take_output();
  server.feed(bytes.data(), bytes.size());
  EXPECT_EQ(server_reads(server), request);
  server.keep_unread();

  std::string body = random_text(10 * 1024 * 1024 + 1, 7);
  EXPECT_TRUE(same_bytes(send_appended(server, client, body), body));
  EXPECT_TRUE(same_bytes(send_read(server, client, body), body));
}

// Every suite of each version, at the sizes where records split.
TEST_F(TlsSessionTest, EverySuiteSealsRecordsTheClientOpens) {
  struct Case {
    int version;
    const char* suites;
  };
  const Case cases[] = {
      {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256"},
      {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384"},
      {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256"},
      {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.suites);
    Session server(contexts);
    Client client(c.version);
    if (c.version == TLS1_3_VERSION) {
      SSL_set_ciphersuites(client.ssl, c.suites);
    } else {
      SSL_set_cipher_list(client.ssl, c.suites);
    }
    ASSERT_TRUE(handshake(server, client));
    EXPECT_STREQ(SSL_get_cipher_name(client.ssl), c.suites);
    for (size_t size : {size_t{0}, size_t{1}, size_t{16383}, size_t{16384}, size_t{16385},
                        size_t{65536 + 7}, size_t{300000}}) {
      std::string text = random_text(size, size);
      EXPECT_TRUE(same_bytes(send_appended(server, client, text), text)) << size;
      EXPECT_TRUE(same_bytes(send_read(server, client, text), text)) << size;
      EXPECT_TRUE(same_bytes(send_read(server, client, text, 1000), text)) << size;
    }
  }
}

// A READ that comes back short leaves its last record open: what comes
// next (another piece of the response) fills it, and nothing is lost.
TEST_F(TlsSessionTest, ShortReadsAndPiecesShareRecords) {
  Session server(contexts);
  Client client;
  ASSERT_TRUE(handshake(server, client));
  std::vector<char> buffer(output_capacity);
  server.attach_output(buffer.data(), output_capacity);
  std::string expected = "HTTP/1.1 200 OK\r\n\r\n";
  EXPECT_EQ(server.append(expected.data(), static_cast<uint32_t>(expected.size())), expected.size());
  std::string file = random_text(40000, 3);
  iovec vectors[8];
  uint32_t planned = 0;
  unsigned count = server.plan_read(file.size(), vectors, 8, planned);
  ASSERT_GE(count, 2u);
  EXPECT_EQ(vectors[0].iov_len, 16384 - expected.size());  // the rest of the open record
  uint32_t got = 20000;
  size_t copied = 0;
  for (unsigned i = 0; i < count && copied < got; ++i) {
    size_t take = std::min<size_t>(vectors[i].iov_len, got - copied);
    std::memcpy(vectors[i].iov_base, file.data() + copied, take);
    copied += take;
  }
  server.after_read(got);
  expected += file.substr(0, got);
  std::string tail = "\r\n--boundary--\r\n";
  server.append(tail.data(), static_cast<uint32_t>(tail.size()));
  expected += tail;
  to_client(server, client);
  EXPECT_TRUE(same_bytes(client_reads(client), expected));
  server.detach_output();
}

// A record filled to the brim by append() (a piece ending exactly at 16 KiB)
// is sealed before a planned read lays out the next one.
TEST_F(TlsSessionTest, ARecordFilledExactlyIsSealedBeforeAPlannedRead) {
  Session server(contexts);
  Client client;
  ASSERT_TRUE(handshake(server, client));
  std::vector<char> buffer(output_capacity);
  server.attach_output(buffer.data(), output_capacity);
  std::string piece = random_text(max_record_payload, 4);
  ASSERT_EQ(server.append(piece.data(), static_cast<uint32_t>(piece.size())), piece.size());
  std::string file = random_text(20000, 5);
  iovec vectors[4];
  uint32_t planned = 0;
  unsigned count = server.plan_read(file.size(), vectors, 4, planned);
  ASSERT_GE(count, 1u);
  size_t copied = 0;
  for (unsigned i = 0; i < count; ++i) {
    std::memcpy(vectors[i].iov_base, file.data() + copied, vectors[i].iov_len);
    copied += vectors[i].iov_len;
  }
  server.after_read(planned);
  to_client(server, client);
  EXPECT_TRUE(same_bytes(client_reads(client), piece + file.substr(0, planned)));
  server.detach_output();
}

// A body goes in whole 16 KiB records, buffer after buffer: none short in
// the middle, where the buffer's end would cut one (each costs the client a
// decryption of its own). Only the last record of the body is short.
TEST_F(TlsSessionTest, ABodyGoesInWholeRecordsAcrossBuffers) {
  Session server(contexts);
  Client client;
  ASSERT_TRUE(handshake(server, client));
  // The worker's buffer: four records and a head's room (src/tls_buffers.h).
  std::vector<char> buffer(4 * (max_record_payload + 29) + 2048);
  server.attach_output(buffer.data(), static_cast<uint32_t>(buffer.size()));
  std::string head(300, 'h');
  std::string body = random_text(1024 * 1024 + 5, 6);
  std::vector<size_t> plaintext_sizes;
  std::string received;
  uint32_t head_done = server.append(head.data(), static_cast<uint32_t>(head.size()));
  ASSERT_EQ(head_done, head.size());
  for (size_t at = 0; at < body.size();) {
    iovec vectors[8];
    uint32_t planned = 0;
    unsigned count = server.plan_read(body.size() - at, vectors, 8, planned);
    if (count > 0) {
      size_t copied = 0;
      for (unsigned i = 0; i < count; ++i) {
        std::memcpy(vectors[i].iov_base, body.data() + at + copied, vectors[i].iov_len);
        copied += vectors[i].iov_len;
      }
      server.after_read(planned);
      at += planned;
      continue;
    }
    server.seal_open();  // full: "sent", its records counted
    std::string_view output = server.output();
    for (size_t record = 0; record + 5 <= output.size();) {
      size_t length = (static_cast<unsigned char>(output[record + 3]) << 8) |
                      static_cast<unsigned char>(output[record + 4]);
      plaintext_sizes.push_back(length - (server.sealer().prefix_bytes() - 5) -
                                server.sealer().suffix_bytes());
      record += 5 + length;
    }
    to_client(server, client);
    received += client_reads(client);
  }
  server.seal_open();
  to_client(server, client);
  received += client_reads(client);
  EXPECT_TRUE(same_bytes(received, head + body));
  ASSERT_GE(plaintext_sizes.size(), 56u);  // (the last buffer's are not counted)
  for (size_t i = 0; i < plaintext_sizes.size(); ++i) {
    EXPECT_EQ(plaintext_sizes[i], max_record_payload) << "record " << i;
  }
  server.detach_output();
}

// RFC 8446 4.6.3: asked for a KeyUpdate, the server sends its own before
// its next records, and seals those under the next keys.
TEST_F(TlsSessionTest, AKeyUpdateTheClientAsksForIsAnswered) {
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}) {
    SCOPED_TRACE(suite);
    Session server(contexts);
    Client client;
    SSL_set_ciphersuites(client.ssl, suite);
    ASSERT_TRUE(handshake(server, client));
    EXPECT_EQ(send_appended(server, client, "before"), "before");
    ASSERT_EQ(SSL_key_update(client.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
    std::string request = "GET / HTTP/1.1\r\n\r\n";
    SSL_write(client.ssl, request.data(), static_cast<int>(request.size()));
    std::string bytes = client.take_output();
    server.feed(bytes.data(), bytes.size());
    EXPECT_EQ(server_reads(server), request);
    server.keep_unread();
    ASSERT_TRUE(server.key_update_due());
    std::vector<char> buffer(output_capacity);
    server.attach_output(buffer.data(), output_capacity);
    ASSERT_TRUE(server.send_key_update());
    EXPECT_FALSE(server.key_update_due());
    std::string after = random_text(50000, 9);
    server.append(after.data(), static_cast<uint32_t>(after.size()));
    to_client(server, client);
    EXPECT_TRUE(same_bytes(client_reads(client), after));
    server.detach_output();
  }
}

TEST_F(TlsSessionTest, CloseNotifyIsSealedForASendOfItsOwn) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Session server(contexts);
    Client client(version);
    ASSERT_TRUE(handshake(server, client));
    char alert[Session::close_notify_bytes];
    uint32_t length = server.seal_close_notify(alert);
    ASSERT_GT(length, 0u);
    BIO_write(client.in, alert, static_cast<int>(length));
    char byte;
    EXPECT_EQ(SSL_read(client.ssl, &byte, 1), 0);
    EXPECT_EQ(SSL_get_error(client.ssl, 0), SSL_ERROR_ZERO_RETURN);
  }
}

// A flight larger than the output buffer goes out in turns.
TEST_F(TlsSessionTest, AHandshakeFlightLargerThanTheBufferWaitsForTheSend) {
  Session server(contexts);
  Client client;
  std::vector<char> small(300);  // records of the flight are larger
  ASSERT_TRUE(handshake(server, client, small));
  server.detach_output();
  EXPECT_EQ(send_appended(server, client, "after a small buffer"), "after a small buffer");
}

TEST_F(TlsSessionTest, RecordsArriveAByteAtATime) {
  Session server(contexts);
  Client client;
  ASSERT_TRUE(handshake(server, client));
  std::string request = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  SSL_write(client.ssl, request.data(), static_cast<int>(request.size()));
  std::string bytes = client.take_output();
  std::string plain;
  for (char byte : bytes) {
    server.feed(&byte, 1);
    plain += server_reads(server);
    server.keep_unread();
  }
  EXPECT_EQ(plain, request);
  EXPECT_FALSE(server.has_input());
}

// What the reader has no room for stays, copied out of the receive buffer.
TEST_F(TlsSessionTest, WhatIsNotReadYetIsKeptAcrossReceives) {
  Session server(contexts);
  Client client;
  ASSERT_TRUE(handshake(server, client));
  std::string requests;
  for (int i = 0; i < 20; ++i) {
    std::string one = "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
    SSL_write(client.ssl, one.data(), static_cast<int>(one.size()));
    requests += one;
  }
  std::string bytes = client.take_output();
  {
    std::string receive_buffer = bytes;  // goes away after keep_unread()
    server.feed(receive_buffer.data(), receive_buffer.size());
    char first[10];
    EXPECT_EQ(server.read(first, sizeof first), 10);
    server.keep_unread();
    std::fill(receive_buffer.begin(), receive_buffer.end(), 'x');
    EXPECT_TRUE(server.has_input());
    EXPECT_EQ(std::string(first, 10) + server_reads(server), requests);
  }
  EXPECT_FALSE(server.has_input());
}

TEST_F(TlsSessionTest, Tls12WithAnAeadCipherIsServed) {
  Session server(contexts);
  Client client(TLS1_2_VERSION);
  ASSERT_TRUE(handshake(server, client));
  EXPECT_EQ(SSL_version(client.ssl), TLS1_2_VERSION);
  std::string cipher = SSL_get_cipher_name(client.ssl);
  EXPECT_TRUE(cipher.find("GCM") != std::string::npos || cipher.find("CHACHA20") != std::string::npos)
      << cipher;
  EXPECT_EQ(cipher.rfind("ECDHE", 0), 0u) << cipher;
  EXPECT_EQ(send_appended(server, client, "twelve"), "twelve");
}

TEST_F(TlsSessionTest, OlderVersionsAreRefused) {
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    Session server(contexts);
    Client client(version);
    EXPECT_FALSE(handshake(server, client));
    EXPECT_EQ(server.failure(), Failure::version) << failure_name(server.failure());
  }
}

TEST_F(TlsSessionTest, PlainHttpToTheTlsPortIsNamedSo) {
  Session server(contexts);
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  server.feed(request.data(), request.size());
  EXPECT_EQ(server.handshake(), Progress::failed);
  EXPECT_EQ(server.failure(), Failure::plain_http);
}

TEST_F(TlsSessionTest, AnAlpnListWithoutHttp11IsRefused) {
  Session server(contexts);
  Client client;
  static const unsigned char h2_only[] = "\x02h2";
  SSL_set_alpn_protos(client.ssl, h2_only, sizeof h2_only - 1);
  EXPECT_FALSE(handshake(server, client));
  EXPECT_EQ(server.failure(), Failure::no_common);
}

TEST_F(TlsSessionTest, TheSelfTestPasses) { EXPECT_EQ(self_test(contexts), ""); }

// A ticket from one session resumes on another made from a different
// context set (another worker's, or the one a SIGHUP loaded) sharing the
// keys; after two rotations it no longer does.
TEST_F(TlsSessionTest, TicketsResumeAcrossSetsUntilTheirKeyRetires) {
  auto ticket = [&](Session& server, Client& client) {
    // TLS 1.3 tickets come after the handshake: the client reads them with
    // the first records.
    send_appended(server, client, "x");
    return SSL_get1_session(client.ssl);
  };
  SSL_SESSION* saved;
  {
    Session server(contexts);
    Client client;
    ASSERT_TRUE(handshake(server, client));
    EXPECT_FALSE(server.resumed());
    saved = ticket(server, client);
  }
  auto reloaded = ContextSet::load({pair.cert, pair.key, ""}, keys);
  {
    Session server(reloaded);
    Client client(0, nullptr, saved);
    ASSERT_TRUE(handshake(server, client));
    EXPECT_TRUE(server.resumed());
    EXPECT_EQ(SSL_session_reused(client.ssl), 1);
  }
  now += std::chrono::hours(13);  // one rotation: the previous key still opens it
  {
    Session server(contexts);
    Client client(0, nullptr, saved);
    ASSERT_TRUE(handshake(server, client));
    EXPECT_TRUE(server.resumed());
  }
  now += std::chrono::hours(13);  // two: retired
  {
    Session server(contexts);
    Client client(0, nullptr, saved);
    ASSERT_TRUE(handshake(server, client));
    EXPECT_FALSE(server.resumed());
  }
  SSL_SESSION_free(saved);
}

std::string subject_of_peer(Client& client) {
  X509* peer = SSL_get1_peer_certificate(client.ssl);
  char text[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, text, sizeof text);
  X509_free(peer);
  return text;
}

TEST_F(TlsSessionTest, SniPicksTheHostsCertificateElseTheDefault) {
  Dir hosts;
  test::write_self_signed(hosts.path, "b.example", "b.example");
  auto set = ContextSet::load({pair.cert, pair.key, hosts.path}, keys);
  EXPECT_EQ(set->host_count(), 1u);
  {
    Session server(set);
    Client client(0, "B.Example");
    ASSERT_TRUE(handshake(server, client));
    EXPECT_EQ(subject_of_peer(client), "b.example");
    EXPECT_EQ(server.server_name(), "B.Example");
  }
  {
    Session server(set);
    Client client(0, "other.example");
    ASSERT_TRUE(handshake(server, client));
    EXPECT_EQ(subject_of_peer(client), "origin.test");
  }
}

TEST_F(TlsSessionTest, BadCredentialsSayWhichFlagInOneLine) {
  auto message = [&](const CredentialPaths& paths) {
    try {
      ContextSet::load(paths, keys);
    } catch (const CredentialError& error) {
      return std::string(error.what());
    }
    return std::string("loaded");
  };
  std::string missing = message({dir.path + "/absent.pem", pair.key, ""});
  EXPECT_EQ(missing.rfind("ringhttpd: --tls-cert: '", 0), 0u) << missing;
  EXPECT_NE(missing.find("No such file"), std::string::npos) << missing;

  test::CertPair other = test::write_self_signed(dir.path, "other", "other.test");
  std::string mismatch = message({pair.cert, other.key, ""});
  EXPECT_EQ(mismatch.rfind("ringhttpd: --tls-key: '", 0), 0u) << mismatch;
  EXPECT_NE(mismatch.find("does not match"), std::string::npos) << mismatch;

  std::string not_pem = message({pair.key, pair.key, ""});
  EXPECT_EQ(not_pem.rfind("ringhttpd: --tls-cert: '", 0), 0u) << not_pem;
  for (const std::string& text : {missing, mismatch, not_pem}) {
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  }
}

TEST_F(TlsSessionTest, AnIdleSessionHoldsNoBuffers) {
  Session server(contexts);
  Client client;
  ASSERT_TRUE(handshake(server, client));  // the output buffer went back
  EXPECT_FALSE(server.output_attached());
  EXPECT_FALSE(server.has_input());
  // close_notify from the client ends reading.
  SSL_shutdown(client.ssl);
  std::string bytes = client.take_output();
  server.feed(bytes.data(), bytes.size());
  char buffer[64];
  EXPECT_EQ(server.read(buffer, sizeof buffer), -1);
}

}  // namespace
}  // namespace ringhttpd::tls
