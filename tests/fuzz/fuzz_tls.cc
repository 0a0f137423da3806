// libFuzzer target: the TLS record path that is ringhttpd's own (src/tls/):
// what a session reads from the bytes a client sends, and the records it
// seals in place. The first byte picks the mode:
//
// - even: the rest is what a client sends, fed to a fresh session in pieces
//   the input sizes. Invariants: no crash, no sanitizer finding; a failure
//   has a reason; nothing is left unread-and-uncopied (keep_unread).
// - odd: a real OpenSSL client finishes a handshake (the version and suite
//   from the input), then the input is a script of steps: the client sends
//   requests the server reads in pieces of input-sized room; the server
//   puts bytes in records by append() and by plan_read()/after_read() with
//   short reads, sends them with input-sized output buffers; the client
//   asks for a KeyUpdate; a byte on the wire to the server is flipped.
//   Invariants: the client reads exactly what the server put in records,
//   in order; the server reads exactly what the client wrote; a flipped
//   byte ends the server's reading (-1, or 0 when the flip made a length
//   longer than what came), never with any plaintext; after a -1 the
//   session's alert follows what it had sealed, and nothing more is sent.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "src/tls/context_set.h"
#include "src/tls/session.h"
#include "tests/support/self_signed.h"

namespace {

using namespace ringhttpd::tls;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_tls: invariant broken: %s\n", what);
  std::abort();
}

// A self-signed P-256 certificate, made once per process.
std::shared_ptr<const ContextSet> contexts() {
  static TicketKeys keys(std::chrono::hours(1));
  static std::shared_ptr<const ContextSet> set = ringhttpd::test::self_signed_contexts("fuzz", keys);
  return set;
}

struct Input {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  bool empty() const { return at >= size; }
  uint8_t byte() { return at < size ? data[at++] : 0; }
  uint32_t number(uint32_t most) {
    uint32_t value = byte();
    value = value << 8 | byte();
    return most == 0 ? 0 : value % (most + 1);
  }
};

void feed_in_pieces(Session& server, const std::string& bytes, Input& input) {
  // Each piece is fed, read as far as it goes, and kept: as the worker does
  // with each receive buffer before it is recycled.
  for (size_t at = 0; at < bytes.size();) {
    size_t piece = std::min<size_t>(bytes.size() - at, 1 + input.number(4096));
    std::string buffer = bytes.substr(at, piece);
    server.feed(buffer.data(), buffer.size());
    at += piece;
    if (!server.handshake_done()) {
      server.handshake();
    }
    server.keep_unread();
    std::memset(buffer.data(), 0xAA, buffer.size());  // gone: a later read must not see it
  }
}

void raw_client(const uint8_t* data, size_t size) {
  Input input{data, size};
  Session server(contexts());
  std::vector<char> out(1 + input.number(70000));
  server.attach_output(out.data(), static_cast<uint32_t>(out.size()));
  std::string bytes(reinterpret_cast<const char*>(data + input.at), size - input.at);
  feed_in_pieces(server, bytes, input);
  Progress progress = server.handshake();
  if ((progress == Progress::failed) != (server.failure() != Failure::none)) {
    broken("a failure without a reason, or a reason without a failure");
  }
}

struct MemoryClient {
  explicit MemoryClient(int version, const char* suite) {
    context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(context, version);
    SSL_CTX_set_max_proto_version(context, version);
    if (version == TLS1_3_VERSION) {
      SSL_CTX_set_ciphersuites(context, suite);
    } else {
      SSL_CTX_set_cipher_list(context, suite);
    }
    ssl = SSL_new(context);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
  }
  ~MemoryClient() {
    SSL_free(ssl);
    SSL_CTX_free(context);
  }
  std::string take() {
    std::string bytes;
    char chunk[16384];
    int n;
    while ((n = BIO_read(out, chunk, sizeof chunk)) > 0) {
      bytes.append(chunk, static_cast<size_t>(n));
    }
    return bytes;
  }
  std::string read_all() {
    std::string plain;
    char chunk[16384];
    int n;
    while ((n = SSL_read(ssl, chunk, sizeof chunk)) > 0) {
      plain.append(chunk, static_cast<size_t>(n));
    }
    ERR_clear_error();
    return plain;
  }
  SSL_CTX* context;
  SSL* ssl;
  BIO* in;
  BIO* out;
};

void to_client(Session& server, MemoryClient& client) {
  server.seal_open();
  std::string_view output = server.output();
  BIO_write(client.in, output.data(), static_cast<int>(output.size()));
  server.consume_output(output.size());
}

std::string text_of(Input& input, uint32_t length) {
  std::string text(length, '\0');
  for (uint32_t i = 0; i < length; ++i) {
    text[i] = static_cast<char>(input.at + i < input.size ? input.data[input.at + i] : i);
  }
  return text;
}

void established(const uint8_t* data, size_t size) {
  Input input{data, size};
  static const char* tls13[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                "TLS_CHACHA20_POLY1305_SHA256"};
  static const char* tls12[] = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                "ECDHE-ECDSA-CHACHA20-POLY1305"};
  uint8_t pick = input.byte();
  bool thirteen = (pick & 1) == 0;
  MemoryClient client(thirteen ? TLS1_3_VERSION : TLS1_2_VERSION, (thirteen ? tls13 : tls12)[(pick >> 1) % 3]);
  Session server(contexts());
  std::vector<char> buffer(1024 + input.number(80000));  // the worker lends 67 KiB
  server.attach_output(buffer.data(), static_cast<uint32_t>(buffer.size()));
  for (int round = 0; round < 10 && !(server.handshake_done() && SSL_is_init_finished(client.ssl)); ++round) {
    SSL_do_handshake(client.ssl);
    feed_in_pieces(server, client.take(), input);
    while (server.handshake() == Progress::want_output) {
      to_client(server, client);
    }
    to_client(server, client);
  }
  if (!server.handshake_done()) {
    broken("an honest handshake failed");
  }
  std::string sent_by_server, read_by_client, written_by_client, read_by_server;
  bool reading_ended = false;
  bool failed = false;  // a fatal alert went into the records: nothing more is sent
  while (!input.empty() && !failed) {
    switch (input.byte() % 6) {
      case 0: {  // the client writes; the server reads in pieces
        std::string text = text_of(input, input.number(40000));
        SSL_write(client.ssl, text.data(), static_cast<int>(text.size()));
        written_by_client += text;
        std::string wire = client.take();
        for (size_t at = 0; at < wire.size() && !reading_ended;) {
          size_t piece = std::min<size_t>(wire.size() - at, 1 + input.number(20000));
          std::string receive(wire.substr(at, piece));
          at += piece;
          server.feed(receive.data(), receive.size());
          std::vector<char> room(1 + input.number(9000));
          long got;
          while ((got = server.read(room.data(), room.size())) > 0) {
            read_by_server.append(room.data(), static_cast<size_t>(got));
          }
          reading_ended = got < 0;
          server.keep_unread();
        }
        break;
      }
      case 1: {  // the server puts bytes in by append()
        std::string text = text_of(input, input.number(70000));
        for (uint32_t at = 0; at < text.size();) {
          uint32_t taken = server.append(text.data() + at, static_cast<uint32_t>(text.size() - at));
          sent_by_server += text.substr(at, taken);
          at += taken;
          if (taken == 0 || input.byte() % 3 == 0) {
            to_client(server, client);
          }
        }
        break;
      }
      case 2: {  // ... and by a planned read that may come back short
        uint32_t want = input.number(90000);
        iovec vectors[33];
        uint32_t planned = 0;
        unsigned count = server.plan_read(want, vectors, 1 + input.byte() % 33, planned);
        uint32_t got = planned == 0 ? 0 : input.number(planned);
        std::string text = text_of(input, got);
        uint32_t copied = 0;
        for (unsigned i = 0; i < count && copied < got; ++i) {
          size_t take = std::min<size_t>(vectors[i].iov_len, got - copied);
          std::memcpy(vectors[i].iov_base, text.data() + copied, take);
          copied += static_cast<uint32_t>(take);
        }
        server.after_read(got);
        sent_by_server += text;
        if (planned == 0) {
          to_client(server, client);
        }
        break;
      }
      case 3:  // what is in records goes to the client
        to_client(server, client);
        read_by_client += client.read_all();
        break;
      case 4:  // the client asks for a KeyUpdate; the server answers before its next records
        if (thirteen && !reading_ended && SSL_key_update(client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1) {
          to_client(server, client);
          SSL_write(client.ssl, "k", 1);
          written_by_client += "k";
          std::string wire = client.take();
          server.feed(wire.data(), wire.size());
          char byte;
          long got = server.read(&byte, 1);
          if (got == 1) {
            read_by_server += byte;
          }
          server.keep_unread();
          if (server.key_update_due() && !server.send_key_update()) {
            broken("the KeyUpdate could not be sent");
          }
        }
        ERR_clear_error();
        break;
      case 5: {  // a byte flipped on its way to the server: reading ends, nothing wrong is read
        if (reading_ended) {
          break;
        }
        SSL_write(client.ssl, "flip", 4);
        std::string wire = client.take();
        wire[input.number(static_cast<uint32_t>(wire.size() - 1))] ^= static_cast<char>(1 + input.byte() % 255);
        server.feed(wire.data(), wire.size());
        char room[64];
        long got;
        std::string plain;
        while ((got = server.read(room, sizeof room)) > 0) {
          plain.append(room, static_cast<size_t>(got));
        }
        server.keep_unread();
        // A flipped length may make the record look longer than what came:
        // then the session waits for the rest (0). Never any plaintext.
        if (got > 0 || !plain.empty()) {
          broken("a record with a flipped byte was read");
        }
        reading_ended = true;
        failed = got < 0;  // (the worker closes such a connection)
        break;
      }
    }
  }
  to_client(server, client);
  read_by_client += client.read_all();
  if (read_by_client != sent_by_server) {
    broken("the client read other bytes than the server sealed");
  }
  if (read_by_server != written_by_client.substr(0, read_by_server.size()) ||
      (!reading_ended && read_by_server.size() != written_by_client.size())) {
    broken("the server read other bytes than the client wrote");
  }
  server.detach_output();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  if (data[0] % 2 == 0) {
    raw_client(data + 1, size - 1);
  } else {
    established(data + 1, size - 1);
  }
  ERR_clear_error();
  return 0;
}
