// HTTPS against the real binary: a test CA and certificates made with the
// openssl command, clients that verify them (OpenSSL through the harness,
// curl, Python's ssl), and what the issue asks of each: bodies byte-exact,
// the HTTP semantics over TLS, SNI, refused versions, cleartext on the
// wrong port, deadlines, many idle handshakes, resumption across workers,
// certificates swapped by SIGHUP under a download, and the metrics.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "src/tls_contexts.h"
#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

uint64_t metric_value(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) {
    return UINT64_MAX;
  }
  return std::stoull(text.substr(at + name.size() + 2));
}

std::string subject_of(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
  X509_free(peer);
  return name;
}

struct TlsTest : ::testing::Test {
  TlsTest() : ca(keys.path()) {
    pair = ca.issue("origin", {"localhost", "127.0.0.1"});
    empty = root.write("empty.txt", "");
    small = random_bytes(4096, 1);
    root.write("4k.bin", small);
    medium = random_bytes(64 * 1024 + 1, 2);
    root.write("64k1.bin", medium);
    large = random_bytes(10 * 1024 * 1024, 3);
    root.write("10m.bin", large);
    root.write("app.js", "plain javascript");
    root.write("app.js.br", "BROTLI");
  }
  std::vector<std::string> tls_args(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"--listen-tls", "127.0.0.1:0", "--tls-cert", pair.cert,
                                     "--tls-key", pair.key};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  TlsOptions verified(const std::string& name = "localhost") const {
    TlsOptions options;
    options.ca_file = ca.ca_file();
    options.server_name = name;
    return options;
  }
  TempDir keys;
  TestCa ca;
  TestCa::Pair pair;
  TempDir root;
  std::string empty, small, medium, large;
};

TEST_F(TlsTest, BodiesAreByteExactOverOneConnection) {
  ServerProcess server(root.path(), tls_args());
  Client client(server.tls_port(), verified());
  EXPECT_EQ(SSL_version(client.ssl()), TLS1_3_VERSION);
  for (int round = 0; round < 2; ++round) {  // the second from the cache
    Response none = client.get("/empty.txt");
    EXPECT_EQ(none.status, 200);
    EXPECT_EQ(none.body, "");
    Response four = client.get("/4k.bin");
    EXPECT_TRUE(four.body == small) << four.body.size();
    Response sixty_four = client.get("/64k1.bin");
    EXPECT_TRUE(sixty_four.body == medium) << sixty_four.body.size();
    Response ten = client.get("/10m.bin");
    EXPECT_TRUE(ten.body == large) << ten.body.size();
  }
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
}

TEST_F(TlsTest, Tls12IsServedByteExact) {
  ServerProcess server(root.path(), tls_args());
  TlsOptions options = verified();
  options.max_version = TLS1_2_VERSION;
  Client client(server.tls_port(), options);
  EXPECT_EQ(SSL_version(client.ssl()), TLS1_2_VERSION);
  EXPECT_TRUE(client.get("/10m.bin").body == large);
  EXPECT_TRUE(client.get("/64k1.bin").body == medium);
}

// Ranges (one, and several as multipart), a conditional, a precompressed
// sibling, and pipelined requests: the same answers as on cleartext.
TEST_F(TlsTest, HttpSemanticsHoldOverTls) {
  ServerProcess server(root.path(), tls_args());
  Client plain(server.port());
  Client client(server.tls_port(), verified());
  Response range = client.get("/10m.bin", "Range: bytes=1000-1999\r\n");
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(range.body, large.substr(1000, 1000));
  for (const std::string& request : {std::string("Range: bytes=0-9,5000000-5000099\r\n"),
                                     std::string("Range: bytes=-100\r\n")}) {
    Response over_tls = client.get("/10m.bin", request);
    Response over_tcp = plain.get("/10m.bin", request);
    EXPECT_EQ(over_tls.status, 206);
    EXPECT_EQ(over_tls.header("Content-Type").value_or("").substr(0, 20),
              over_tcp.header("Content-Type").value_or("").substr(0, 20));
    EXPECT_EQ(over_tls.body.size(), over_tcp.body.size());
  }
  Response full = client.get("/4k.bin");
  Response unchanged = client.get("/4k.bin", "If-None-Match: " + full.header("ETag").value_or("") + "\r\n");
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_EQ(unchanged.body, "");
  Response brotli = client.get("/app.js", "Accept-Encoding: br\r\n");
  EXPECT_EQ(brotli.header("Content-Encoding"), "br");
  EXPECT_EQ(brotli.body, "BROTLI");

  std::string pipelined;
  for (int i = 0; i < 20; ++i) {
    pipelined += "GET /" + std::string(i % 2 ? "4k.bin" : "app.js") + " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  client.send(pipelined);
  for (int i = 0; i < 20; ++i) {
    Response response = client.read_response();
    EXPECT_EQ(response.status, 200);
    EXPECT_TRUE(response.body == (i % 2 ? small : std::string("plain javascript"))) << i;
  }
}

// The last response before a close carries the close_notify alert: the
// client sees the end of the stream, not a truncation.
TEST_F(TlsTest, ConnectionCloseEndsWithCloseNotify) {
  ServerProcess server(root.path(), tls_args());
  for (const char* path : {"/4k.bin", "/10m.bin", "/missing"}) {
    Client client(server.tls_port(), verified());
    client.send("GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    std::string all = client.read_until_close(5000ms);
    EXPECT_TRUE(client.close_notify_received()) << path;
    EXPECT_NE(all.find("\r\n\r\n"), std::string::npos) << path;
  }
}

// RFC 8446 6.1: a client may close its side (close_notify) and still read
// the answer to what it sent before.
TEST_F(TlsTest, ARequestSentWithTheClientsCloseNotifyIsAnswered) {
  ServerProcess server(root.path(), tls_args());
  Client client(server.tls_port(), verified());
  int cork = 1;  // the request and the close_notify in one segment: one receive
  setsockopt(client.fd(), IPPROTO_TCP, TCP_CORK, &cork, sizeof cork);
  client.send("GET /4k.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(SSL_shutdown(client.ssl()), 0);  // close_notify sent, the socket still open
  cork = 0;
  setsockopt(client.fd(), IPPROTO_TCP, TCP_CORK, &cork, sizeof cork);
  Response response = client.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, small);
  EXPECT_TRUE(client.closed_by_peer(5000ms)) << "nothing more comes from a client that closed";
}

TEST_F(TlsTest, CurlAndPythonVerifyAndFetch) {
  ServerProcess server(root.path(), tls_args());
  std::string url = "https://localhost:" + std::to_string(server.tls_port());
  std::string out = keys.path() + "/curl.out";
  auto [curl_status, curl_errors] =
      run_command({"/usr/bin/env", "curl", "-sS", "--fail", "--cacert", ca.ca_file(), "-o", out, url + "/10m.bin"});
  EXPECT_EQ(curl_status, 0) << curl_errors;
  EXPECT_TRUE(read_file(out) == large);
  auto [http11_status, http11_errors] = run_command(
      {"/usr/bin/env", "curl", "-sS", "--fail", "--http1.1", "--tlsv1.2", "--tls-max", "1.2", "--cacert", ca.ca_file(),
       "-o", out, url + "/64k1.bin", "-o", out + "2", url + "/4k.bin"});
  EXPECT_EQ(http11_status, 0) << http11_errors;
  EXPECT_TRUE(read_file(out) == medium);
  EXPECT_TRUE(read_file(out + "2") == small);

  std::string script = keys.write("fetch.py",
                                  "import hashlib, http.client, ssl, sys\n"
                                  "context = ssl.create_default_context(cafile=sys.argv[1])\n"
                                  "connection = http.client.HTTPSConnection('localhost', int(sys.argv[2]),"
                                  " context=context)\n"
                                  "for path in ['/empty.txt', '/4k.bin', '/64k1.bin', '/10m.bin']:\n"
                                  "    connection.request('GET', path)\n"
                                  "    response = connection.getresponse()\n"
                                  "    body = response.read()\n"
                                  "    print(response.status, len(body), hashlib.sha256(body).hexdigest())\n");
  std::string listing = keys.path() + "/python.out";
  auto [python_status, python_errors] =
      run_command({"/bin/sh", "-c", "/usr/bin/python3 " + script + " " + ca.ca_file() + " " +
                                   std::to_string(server.tls_port()) + " > " + listing});
  EXPECT_EQ(python_status, 0) << python_errors;
  std::string printed = read_file(listing);
  EXPECT_NE(printed.find("200 0 "), std::string::npos) << printed;
  EXPECT_NE(printed.find("200 4096 "), std::string::npos) << printed;
  EXPECT_NE(printed.find("200 65537 "), std::string::npos) << printed;
  EXPECT_NE(printed.find("200 10485760 "), std::string::npos) << printed;
}

// SNI picks the host's certificate (from --tls-dir) and, with --vhosts,
// the Host picks its directory; other names get the default pair.
TEST_F(TlsTest, SniPicksTheHostsCertificateAndVhostsItsDirectory) {
  TempDir sites;
  sites.write("a.example/index.html", "site a");
  sites.write("_default/index.html", "default site");
  TempDir host_pairs;
  ca.issue("a.example", {"a.example"}, host_pairs.path());
  ServerProcess server(sites.path(), tls_args({"--vhosts", "--tls-dir", host_pairs.path()}));
  {
    Client client(server.tls_port(), verified("a.example"));
    EXPECT_EQ(subject_of(client.ssl()), "a.example");
    client.send("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
    EXPECT_EQ(client.read_response().body, "site a");
  }
  {
    Client client(server.tls_port(), verified("localhost"));
    EXPECT_EQ(subject_of(client.ssl()), "localhost");
    EXPECT_EQ(client.get("/").body, "default site");
  }
}

// Hellos that offer no TLS 1.2 or 1.3 are refused, and counted so.
TEST_F(TlsTest, OldVersionsAreRefused) {
  ServerProcess server(root.path(), tls_args({"--metrics-path", "/metrics"}));
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    TlsOptions options;
    options.min_version = version;
    options.max_version = version;
    EXPECT_THROW(Client(server.tls_port(), options), std::runtime_error);
  }
  // An SSLv3 ClientHello (OpenSSL here cannot make one), by hand.
  const unsigned char sslv3_hello[] = {
      0x16, 0x03, 0x00, 0x00, 0x2d,  // handshake record, SSL 3.0, 45 bytes
      0x01, 0x00, 0x00, 0x29,        // ClientHello, 41 bytes
      0x03, 0x00,                    // client_version SSL 3.0
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
      28, 29, 30, 31, 32,  // random
      0x00,                // session id
      0x00, 0x02, 0x00, 0x2f,  // TLS_RSA_WITH_AES_128_CBC_SHA
      0x01, 0x00,          // compression: null
  };
  Client raw(server.tls_port());
  raw.send(std::string(reinterpret_cast<const char*>(sslv3_hello), sizeof sslv3_hello));
  std::string answer = raw.read_until_close(5000ms);
  ASSERT_GE(answer.size(), 7u);
  EXPECT_EQ(static_cast<unsigned char>(answer[0]), 0x15);  // an alert record, then the close
  Client metrics(server.port());
  std::string text = metrics.get("/metrics").body;
  EXPECT_EQ(metric_value(text, "ringhttpd_tls_handshake_failures_total{reason=\"version\"}"), 3u) << text;
}

// Cleartext HTTP to the TLS port: a cleartext 400 saying so, then FIN.
TEST_F(TlsTest, CleartextToTheTlsPortIsAnsweredAndClosedCleanly) {
  ServerProcess server(root.path(), tls_args());
  Client client(server.tls_port());
  client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  Response response = client.read_response();
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("HTTPS"), std::string::npos);
  EXPECT_TRUE(client.closed_by_peer(3000ms));
  sleep(1);  // (the log is written within a second)
  EXPECT_EQ(read_file(server.access_log_path()), "") << "a failed handshake is no request";
}

// A TLS hello to the cleartext port is refused at its first byte, not
// after the header timeout.
TEST_F(TlsTest, ATlsHelloToTheCleartextPortIsRefusedAtOnce) {
  ServerProcess server(root.path(), tls_args({"--header-timeout", "30s"}));
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(context);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  std::string hello(static_cast<size_t>(BIO_ctrl_pending(out)), '\0');
  BIO_read(out, hello.data(), static_cast<int>(hello.size()));
  SSL_free(ssl);
  SSL_CTX_free(context);
  ASSERT_EQ(static_cast<unsigned char>(hello[0]), 0x16);

  Client client(server.port());
  auto start = std::chrono::steady_clock::now();
  client.send(hello);
  Response response = client.read_response();
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(client.closed_by_peer(5000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// A client that connects and sends nothing, or half a hello, is closed at
// the handshake deadline, and counted.
TEST_F(TlsTest, SilentAndSlowHandshakesAreCutAtTheirDeadline) {
  ServerProcess server(root.path(), tls_args({"--tls-handshake-timeout", "1s", "--metrics-path", "/metrics"}));
  Client silent(server.tls_port());
  Client half(server.tls_port());
  half.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.closed_by_peer(5000ms));
  EXPECT_TRUE(half.closed_by_peer(5000ms));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GT(waited, 500ms);
  EXPECT_LT(waited, 4s);
  Client metrics(server.port());
  std::string text = metrics.get("/metrics").body;
  EXPECT_EQ(metric_value(text, "ringhttpd_tls_handshake_failures_total{reason=\"timeout\"}"), 2u) << text;
}

// A thousand connections that never finish a handshake cost their slots,
// not the service: an honest client is still served, at once.
TEST_F(TlsTest, AThousandIdleHandshakesLeaveAnHonestClientServed) {
  constexpr int idle = 1000;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max < 2 * idle + 200) {
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is " << limit.rlim_max;
  }
  rlimit raised{std::min<rlim_t>(limit.rlim_max, 4 * idle), limit.rlim_max};
  setrlimit(RLIMIT_NOFILE, &raised);  // the server inherits it too
  {
    ServerProcess server(root.path(), tls_args({"--max-connections", "2000", "--access-log", "off"}));
    std::vector<std::unique_ptr<Client>> stalled;
    for (int i = 0; i < idle; ++i) {
      stalled.push_back(std::make_unique<Client>(server.tls_port()));
      if (i % 2 == 0) {
        stalled.back()->send(std::string("\x16\x03\x01\x02", 4));  // a hello that never ends
      }
    }
    auto start = std::chrono::steady_clock::now();
    Client honest(server.tls_port(), verified());
    EXPECT_TRUE(honest.get("/10m.bin").body == large);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(server.stop(), 0);
  }
  setrlimit(RLIMIT_NOFILE, &limit);
}

// A connection to the TLS port that sends nothing holds no TLS session
// (before: OpenSSL's, about 10 KiB each, from the accept).
TEST_F(TlsTest, SilentConnectionsHoldNoSession) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's allocator and quarantine hide what a connection takes";
#endif
  constexpr int count = 1000;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max < 2 * count + 200) {
    GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is " << limit.rlim_max;
  }
  rlimit raised{std::min<rlim_t>(limit.rlim_max, 4 * count), limit.rlim_max};
  setrlimit(RLIMIT_NOFILE, &raised);
  {
    ServerProcess server(root.path(), tls_args({"--workers", "1", "--max-connections", "2000"}));
    Client warm(server.tls_port(), verified());
    EXPECT_EQ(warm.get("/4k.bin").body, small);
    std::this_thread::sleep_for(1200ms);
    long baseline = resident_kib(server.pid());
    std::vector<std::unique_ptr<Client>> silent;
    for (int i = 0; i < count; ++i) {
      silent.push_back(std::make_unique<Client>(server.tls_port()));
    }
    std::this_thread::sleep_for(1000ms);
    long peak = resident_kib(server.pid());
    EXPECT_LT((peak - baseline) * 1024 / count, 3 * 1024)
        << "bytes per connection; RSS " << baseline << " -> " << peak << " KiB";
    EXPECT_EQ(server.stop(), 0);
  }
  setrlimit(RLIMIT_NOFILE, &limit);
}

// A ticket from one connection resumes on the others, whichever of the
// two workers (SO_REUSEPORT spreads them) each lands on.
TEST_F(TlsTest, SessionsResumeAcrossWorkers) {
  ServerProcess server(root.path(), tls_args({"--metrics-path", "/metrics"}));  // two workers
  SSL_SESSION* ticket = nullptr;
  {
    Client first(server.tls_port(), verified());
    EXPECT_EQ(first.get("/4k.bin").status, 200);  // the ticket comes with the first records
    ticket = first.session();
  }
  for (int i = 0; i < 12; ++i) {
    TlsOptions options = verified();
    options.resume = ticket;
    Client again(server.tls_port(), options);
    EXPECT_EQ(SSL_session_reused(again.ssl()), 1) << i;
    EXPECT_EQ(again.get("/4k.bin").status, 200);
    // TLS 1.3 clients use a ticket once (RFC 8446 C.4): a resumed
    // connection brings a new one, or the client's next is a full handshake.
    SSL_SESSION* renewed = again.session();
    const unsigned char* old_bytes = nullptr;
    const unsigned char* new_bytes = nullptr;
    size_t old_length = 0;
    size_t new_length = 0;
    SSL_SESSION_get0_ticket(ticket, &old_bytes, &old_length);
    SSL_SESSION_get0_ticket(renewed, &new_bytes, &new_length);
    EXPECT_TRUE(new_length != old_length || std::memcmp(new_bytes, old_bytes, old_length) != 0)
        << "no new ticket after resuming, " << i;
    SSL_SESSION_free(renewed);
  }
  for (int version : {TLS1_2_VERSION}) {
    TlsOptions options = verified();
    options.max_version = version;
    SSL_SESSION* twelve = nullptr;
    {
      Client first(server.tls_port(), options);
      first.get("/4k.bin");
      twelve = first.session();
    }
    for (int i = 0; i < 6; ++i) {
      options.resume = twelve;
      Client again(server.tls_port(), options);
      EXPECT_EQ(SSL_session_reused(again.ssl()), 1) << "TLS 1.2, " << i;
      // (A TLS 1.2 client is done before the server has its Finished: a
      // response says the server is done too.)
      EXPECT_EQ(again.get("/4k.bin").status, 200);
    }
    SSL_SESSION_free(twelve);
  }
  SSL_SESSION_free(ticket);
  Client metrics(server.port());
  std::string text = metrics.get("/metrics").body;
  EXPECT_EQ(metric_value(text, "ringhttpd_tls_resumptions_total"), 18u) << text;
  EXPECT_EQ(metric_value(text, "ringhttpd_tls_handshakes_total"), 20u) << text;
}

// SIGHUP: new connections get the new certificate; a download under way
// goes on under the old one to its last byte. A bad pair keeps the old.
TEST_F(TlsTest, SighupSwapsTheCertificateUnderADownload) {
  ServerProcess server(root.path(), tls_args());
  Client downloading(server.tls_port(), verified());
  int small_buffer = 16384;
  setsockopt(downloading.fd(), SOL_SOCKET, SO_RCVBUF, &small_buffer, sizeof small_buffer);
  downloading.send("GET /10m.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(200ms);  // under way: the socket buffers are full

  TestCa::Pair renewed = ca.issue("renewed", {"localhost", "renewed.example"});
  std::filesystem::copy_file(renewed.cert, pair.cert, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key, pair.key, std::filesystem::copy_options::overwrite_existing);
  kill(server.pid(), SIGHUP);
  std::this_thread::sleep_for(1500ms);  // read on the next tick of each worker
  {
    Client fresh(server.tls_port(), verified());
    X509* peer = SSL_get1_peer_certificate(fresh.ssl());
    EXPECT_EQ(X509_check_host(peer, "renewed.example", 0, 0, nullptr), 1);
    X509_free(peer);
    EXPECT_EQ(fresh.get("/4k.bin").body, small);
  }
  Response finished = downloading.read_response();
  EXPECT_TRUE(finished.body == large) << finished.body.size();

  std::ofstream(pair.cert) << "not a certificate\n";
  kill(server.pid(), SIGHUP);
  std::this_thread::sleep_for(1500ms);
  {
    Client still(server.tls_port(), verified());
    X509* peer = SSL_get1_peer_certificate(still.ssl());
    EXPECT_EQ(X509_check_host(peer, "renewed.example", 0, 0, nullptr), 1);
    X509_free(peer);
  }
  std::string errors = server.stderr_text();
  size_t line = errors.find("--tls-cert");
  ASSERT_NE(line, std::string::npos) << errors;
  std::string said = errors.substr(errors.rfind('\n', line) + 1);
  said = said.substr(0, said.find('\n'));
  EXPECT_NE(said.find("keeping the certificates in use"), std::string::npos) << said;
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(TlsTest, BadFilesAtStartExitTwoNamingTheFlag) {
  TempDir other;
  TestCa::Pair stranger = ca.issue("stranger", {"localhost"}, other.path());
  std::string garbage = other.write("garbage.pem", "-----BEGIN NOTHING-----\n");
  struct Case {
    std::vector<std::string> flags;
    std::string flag;
  };
  for (const Case& c : {Case{{"--tls-cert", other.path() + "/absent.pem", "--tls-key", pair.key}, "--tls-cert"},
                        Case{{"--tls-cert", pair.cert, "--tls-key", stranger.key}, "--tls-key"},
                        Case{{"--tls-cert", garbage, "--tls-key", pair.key}, "--tls-cert"},
                        Case{{"--tls-cert", pair.cert, "--tls-key", pair.key, "--tls-dir", "/nonexistent"},
                             "--tls-dir"},
                        Case{{"--tls-cert", pair.cert}, "--tls-key"}}) {
    std::vector<std::string> args = {"--root", root.path(), "--listen-tls", "127.0.0.1:0"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    auto [status, errors] = run_to_exit(args);
    EXPECT_EQ(status, 2) << errors;
    EXPECT_NE(errors.find(c.flag), std::string::npos) << errors;
    EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 1) << errors;
  }
  auto [check_status, check_errors] =
      run_to_exit({"--root", root.path(), "--listen-tls", "127.0.0.1:0", "--tls-cert", pair.cert,
                   "--tls-key", stranger.key, "--check"});
  EXPECT_EQ(check_status, 2) << check_errors;
}

TEST_F(TlsTest, StartLineAndMetricsSayWhereRecordsAreSealed) {
  ServerProcess server(root.path(), tls_args({"--metrics-path", "/metrics"}));
  std::string ulp = probe_kernel_tls();
  Client client(server.tls_port(), verified());
  EXPECT_EQ(client.get("/64k1.bin").body, medium);
  Client metrics(server.port());
  std::string text = metrics.get("/metrics").body;
  EXPECT_EQ(metric_value(text, "ringhttpd_tls_ktls"), ulp.empty() ? 1u : 0u) << text;
  EXPECT_EQ(metric_value(text, "ringhttpd_tls_kernel_records_total"), ulp.empty() ? 1u : 0u) << text;
  auto [status, errors] = run_to_exit({"--root", root.path(), "--listen-tls", "127.0.0.1:0", "--tls-cert",
                                       pair.cert, "--tls-key", pair.key, "--ktls", "off", "--check"});
  EXPECT_EQ(status, 0) << errors;
}

// Where the kernel has the tls ULP, records go to it and file bodies are
// spliced; skipped (with the reason) where it has not.
TEST_F(TlsTest, KernelTlsServesByteExactWhereTheKernelHasIt) {
  std::string ulp = probe_kernel_tls();
  if (!ulp.empty()) {
    GTEST_SKIP() << "kTLS: " << ulp;
  }
  ServerProcess server(root.path(), tls_args({"--metrics-path", "/metrics"}));
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    TlsOptions options = verified();
    options.max_version = version;
    Client client(server.tls_port(), options);
    EXPECT_TRUE(client.get("/10m.bin").body == large);
    EXPECT_TRUE(client.get("/4k.bin").body == small);
    Response range = client.get("/10m.bin", "Range: bytes=0-9,5000000-5000099\r\n");
    EXPECT_EQ(range.status, 206);
  }
  Client closing(server.tls_port(), verified());
  closing.send("GET /64k1.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  closing.read_until_close(5000ms);
  EXPECT_TRUE(closing.close_notify_received());
  Client metrics(server.port());
  EXPECT_GE(metric_value(metrics.get("/metrics").body, "ringhttpd_tls_kernel_records_total"), 3u);
}

}  // namespace
}  // namespace ringhttpd::test
