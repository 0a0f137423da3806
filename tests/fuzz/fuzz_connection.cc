// libFuzzer target: a worker's connection handling, the real Worker on its
// own ring in a thread of this process (so its code is what the coverage
// counts), spoken to over loopback sockets. Each input is a script: open
// connections, send well-formed requests whole or split at any byte, send
// raw bytes, pipeline, half-close, reset, close, and jump the deadline
// clock forward. Invariants:
// - every response is framed exactly (status line, fields, Content-Length
//   bytes of body, none after HEAD, 204 or 304);
// - the well-formed requests on a connection are answered in order, each
//   with a status its target allows and, for 200 and 206, the file's bytes;
// - a connection sent nothing but well-formed requests is answered within
//   two seconds, unless a deadline was jumped past or it asked to close;
// - once every client has gone, the worker holds no connection and no
//   socket: nothing is left behind.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "conf/command_line.h"
#include "conf/mime_types.h"
#include "src/docroot.h"
#include "src/loop_state.h"
#include "src/worker.h"

namespace {

using namespace ringhttpd;
using Clock = std::chrono::steady_clock;

struct Target {
  const char* path;
  std::string body;  // what a 200 sends
  std::vector<int> statuses;
  std::string brotli_body = "";  // what a 200 sends with Content-Encoding: br
};

// The docroot and the worker, made once for the whole run.
struct Fixture {
  std::string root;
  std::vector<Target> targets;
  Config config;
  MimeTypes mime_types;
  std::unique_ptr<DocrootSource> docroot;
  std::atomic<uint64_t> cache_generation{0};
  WorkerStats stats[1];
  WorkerContext context;
  std::atomic<int> log_slot{-1};
  uint16_t port = 0;
  int listener = -1;

  // Connections the kernel has taken that the worker has not accepted.
  uint32_t listener_queue() const {
    tcp_info info{};
    socklen_t length = sizeof info;
    if (getsockopt(listener, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
      std::abort();
    }
    return info.tcpi_unacked;  // for a listening socket: its accept queue
  }

  Fixture() {
    char pattern[] = "/tmp/ringhttpd-fuzz-connection-XXXXXX";
    root = mkdtemp(pattern);
    std::string big(300'000, '\0');
    for (size_t i = 0; i < big.size(); ++i) {
      big[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    put("small.txt", "small body\n");
    put("big.bin", big);  // larger than --cache-body-max: sent by splice
    put("dir/index.html", "index\n");
    put("app.js", "plain script\n");
    put("app.js.br", "BROTLI");
    targets = {{"/small.txt", "small body\n", {200, 206, 304, 416}},
               {"/big.bin", big, {200, 206, 304, 416}},
               {"/dir/", "index\n", {200, 206, 304, 416}},
               {"/dir", "", {301}},
               {"/missing", "", {404}},
               {"/app.js", "plain script\n", {200, 206, 304, 416}, "BROTLI"},
               {"/%2e%2e/etc/passwd", "", {400}}};
    // One pipe: spliced responses on different connections wait for it,
    // take turns, and size their chunks to the socket's room.
    const char* argv[] = {"fuzz", "--root", root.c_str(), "--workers", "1", "--access-log", "off",
                          "--log-flush", "10ms", "--cache-body-max", "4096", "--max-connections",
                          "64", "--log-level", "error", "--max-pipes", "1"};
    config = parse_command_line(static_cast<int>(std::size(argv)), argv).config;
    docroot = std::make_unique<DocrootSource>(root);
    docroot->open_initial();
    context = WorkerContext{&config, &mime_types, docroot.get(), -1, nullptr, &cache_generation,
                            stats, false};
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(listener, 4096) != 0) {
      std::abort();
    }
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    // A stop descriptor that never becomes readable: the worker serves for
    // the whole run.
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      std::abort();
    }
    context.stop_event_fd = pipe_fds[0];
    std::thread([this] {
      Worker worker(0, context, {listener}, log_slot, stats[0]);
      worker.run();
    }).detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  void put(const std::string& relative, const std::string& contents) {
    std::filesystem::path path = std::filesystem::path(root) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << contents;
  }
};

Fixture* fixture = nullptr;

// The fuzz input, read a field at a time; zeros once it runs out.
struct Script {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  bool done() const { return at >= size; }
  uint8_t byte() { return at < size ? data[at++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
  std::string_view bytes(size_t most) {
    size_t n = std::min<size_t>(most, size - std::min(at, size));
    std::string_view taken(reinterpret_cast<const char*>(data + at), n);
    at += n;
    return taken;
  }
};

struct Expected {
  const Target* target;
  bool head;
  bool asks_close;
  std::string request;  // what was sent, said when its answer breaks a rule
};

struct Response {
  int status = 0;
  std::string fields;  // lower-cased names, "name: value\n" lines
  std::string body;
  std::optional<std::string> field(const std::string& name) const {
    size_t at = fields.find("\n" + name + ": ");
    if (at == std::string::npos) {
      return std::nullopt;
    }
    size_t start = at + name.size() + 3;
    return fields.substr(start, fields.find('\n', start) - start);
  }
};

void fail_if(bool broken, const char* what) {
  if (broken) {
    std::fprintf(stderr, "fuzz_connection: invariant broken: %s\n", what);
    std::abort();
  }
}

struct Connection {
  int fd = -1;
  std::string received;
  std::deque<Expected> expected;
  bool sent_raw = false;    // what it was sent is not all well-formed
  bool write_closed = false;
  bool may_be_cut = false;  // a deadline was jumped past, or it asked to close
  bool gone = false;        // closed by the server

  // One whole response off the front of `received`, framed as a response
  // to `expected` (HEAD: no body); nullopt while incomplete.
  std::optional<Response> take_response(bool head) {
    size_t end = received.find("\r\n\r\n");
    if (end == std::string::npos) {
      fail_if(received.size() > 65536, "a response head larger than 64 KiB");
      return std::nullopt;
    }
    Response response;
    std::string_view head_text(received.data(), end);
    fail_if(!head_text.starts_with("HTTP/1.1 ") || head_text.size() < 12, "status line");
    response.status = std::atoi(std::string(head_text.substr(9, 3)).c_str());
    fail_if(response.status < 100 || response.status > 599, "status code");
    size_t line = head_text.find("\r\n");
    while (line != std::string_view::npos && line < head_text.size()) {
      size_t next = head_text.find("\r\n", line + 2);
      std::string_view field = head_text.substr(line + 2, next - line - 2);
      size_t colon = field.find(':');
      fail_if(colon == std::string_view::npos || colon == 0, "field line");
      std::string name(field.substr(0, colon));
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      response.fields += "\n" + name + ": " + std::string(field.substr(colon + 2));
      line = next;
    }
    response.fields += "\n";
    bool bodiless = head || response.status == 204 || response.status == 304;
    std::optional<std::string> length = response.field("content-length");
    fail_if(!bodiless && !length, "Content-Length missing");
    size_t body_bytes = bodiless ? 0 : std::stoull(*length);
    if (received.size() < end + 4 + body_bytes) {
      return std::nullopt;
    }
    response.body = received.substr(end + 4, body_bytes);
    received.erase(0, end + 4 + body_bytes);
    return response;
  }

  void check(const Expected& want, const Response& response) {
    auto fail_if = [&](bool broken, const char* what) {
      if (broken) {
        std::fprintf(stderr, "request:\n%s\nanswer: %d%s\n", want.request.c_str(), response.status,
                     response.fields.c_str());
      }
      ::fail_if(broken, what);
    };
    bool allowed = false;
    for (int status : want.target->statuses) {
      allowed |= status == response.status;
    }
    if (!allowed && response.status != 503 && response.status != 500) {
      fail_if(true, "a status the target does not allow");
    }
    if (want.head) {
      return;
    }
    std::optional<std::string> coding = response.field("content-encoding");
    fail_if(coding && (*coding != "br" || want.target->brotli_body.empty()),
            "a Content-Encoding the target has no file for");
    // Ranges and bodies are of the representation sent: the .br sibling
    // when it is br.
    std::string_view file = coding ? want.target->brotli_body : want.target->body;
    if (response.status == 200) {
      fail_if(response.body != file, "200 body differs from the file");
    }
    if (response.status == 206 && !response.field("content-type").value_or("").starts_with("multipart")) {
      std::string range = response.field("content-range").value_or("");
      unsigned long long first = 0;
      unsigned long long last = 0;
      unsigned long long complete = 0;
      fail_if(std::sscanf(range.c_str(), "bytes %llu-%llu/%llu", &first, &last, &complete) != 3,
              "Content-Range");
      fail_if(complete != file.size() || last >= file.size() || last < first, "Content-Range bounds");
      fail_if(response.body != file.substr(first, last - first + 1), "206 body differs from the file");
    }
  }

  // Checks every whole response received, then reads what has arrived
  // (waiting up to `wait_ms` for it) and checks again.
  void pump(int wait_ms) {
    check_received();
    if (fd < 0) {
      return;
    }
    pollfd ready{fd, POLLIN, 0};
    if (poll(&ready, 1, wait_ms) <= 0) {
      return;
    }
    char chunk[65536];
    for (;;) {
      ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n > 0) {
        received.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        gone = true;
      }
      break;
    }
    check_received();
  }

  void check_received() {
    while (!expected.empty()) {
      std::optional<Response> response = take_response(expected.front().head);
      if (!response) {
        break;
      }
      check(expected.front(), *response);
      expected.pop_front();
    }
  }
};

std::string request_for(Script& script, const Target& target, bool head, bool close) {
  std::string request = std::string(head ? "HEAD " : "GET ") + target.path + " HTTP/1.1\r\nHost: t\r\n";
  uint8_t extras = script.byte();
  if (extras & 1) {
    request += "Range: bytes=" + std::to_string(script.u16()) + "-" +
               ((extras & 2) ? std::to_string(script.u16()) : "") + "\r\n";
  }
  if (extras & 4) {
    request += "If-None-Match: *\r\n";
  }
  if (extras & 8) {
    request += "Accept-Encoding: br, gzip\r\n";
  }
  if (extras & 16) {
    request += "Content-Length: " + std::to_string(extras >> 5) + "\r\n\r\n" +
               std::string(extras >> 5, 'b');
    return close ? request.insert(request.find("\r\n") + 2, "Connection: close\r\n") : request;
  }
  if (close) {
    request += "Connection: close\r\n";
  }
  return request + "\r\n";
}

void send_all(Connection& connection, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(connection.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) {
        connection.pump(1);  // the server's answers fill our window: read some
        continue;
      }
      connection.gone = true;
      return;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void close_socket(Connection& connection, bool reset) {
  if (connection.fd < 0) {
    return;
  }
  if (reset) {
    linger abrupt{1, 0};
    setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &abrupt, sizeof abrupt);
  }
  close(connection.fd);
  connection.fd = -1;
}

size_t sockets_open() {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    count += std::filesystem::read_symlink(entry.path(), error).string().starts_with("socket:") ? 1 : 0;
  }
  return count;
}

void run(Script& script) {
  std::vector<Connection> connections(4);
  for (int step = 0; step < 48 && !script.done(); ++step) {
    uint8_t op = script.byte();
    Connection& connection = connections[(op >> 4) % connections.size()];
    if (connection.fd < 0 && op % 8 != 7) {
      connection = Connection{};
      connection.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(fixture->port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(connection.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        std::abort();
      }
    }
    bool writable = connection.fd >= 0 && !connection.write_closed && !connection.gone;
    switch (op % 8) {
      case 0:
      case 1: {  // a well-formed request, whole or split in two with a pause
        if (!writable || connection.may_be_cut) {
          break;
        }
        const Target& target = fixture->targets[script.byte() % fixture->targets.size()];
        bool head = script.byte() % 4 == 0;
        bool close = script.byte() % 8 == 0;
        std::string request = request_for(script, target, head, close);
        size_t split = op % 8 == 1 ? script.u16() % request.size() : request.size();
        send_all(connection, std::string_view(request).substr(0, split));
        if (split < request.size()) {
          connection.pump(1);
          send_all(connection, std::string_view(request).substr(split));
        }
        if (!connection.sent_raw) {  // after raw bytes, what a request becomes is open
          connection.expected.push_back({&target, head, close, request});
        }
        connection.may_be_cut |= close;
        break;
      }
      case 2:  // raw bytes: anything may follow
        if (writable) {
          send_all(connection, script.bytes(script.byte()));
          connection.sent_raw = true;
        }
        break;
      case 3:  // read what came
        connection.pump(script.byte() % 4);
        break;
      case 4:  // half-close: what was asked is still answered
        if (writable) {
          shutdown(connection.fd, SHUT_WR);
          connection.write_closed = true;
        }
        break;
      case 5:
        close_socket(connection, true);
        break;
      case 6:
        close_socket(connection, false);
        break;
      case 7: {  // the deadline clock jumps: idle, header, send and linger deadlines pass
        deadline_clock_skew_ms.fetch_add(1000 * (1 + script.byte() % 90));
        for (Connection& each : connections) {
          each.may_be_cut = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(15));  // a tick
        break;
      }
    }
  }
  // Every connection sent only well-formed requests and not cut is answered
  // in full within two seconds.
  for (Connection& connection : connections) {
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while (connection.fd >= 0 && !connection.expected.empty() && !connection.gone &&
           Clock::now() < deadline) {
      connection.pump(20);
    }
    if (connection.fd >= 0 && !connection.sent_raw && !connection.may_be_cut) {
      if (!connection.expected.empty()) {
        std::fprintf(stderr, "received %zu bytes: %s; gone %d, half-closed %d\n", connection.received.size(),
                     connection.received.substr(0, 400).c_str(), connection.gone, connection.write_closed);
      }
      fail_if(!connection.expected.empty(), "a well-formed request left unanswered");
    }
    close_socket(connection, false);
  }
  // Nothing is left behind: the worker's connections all close, and the
  // listener alone is a socket (every client's and server's closed). A
  // connection the clients closed may still wait in the listener's queue,
  // where no descriptor shows it; and the worker publishes its count on the
  // tick (10 ms here), perhaps before the CLOSE it submitted completes. So
  // the queue must be empty, the count zero and the sockets one, all
  // together, twice, several ticks apart; the clock is pushed on so
  // lingering and idle waits end.
  auto left_behind = [] {
    return fixture->listener_queue() != 0 ||
           fixture->stats[0].connections.load(std::memory_order_relaxed) != 0 || sockets_open() != 1;
  };
  auto settled = Clock::now() + std::chrono::seconds(3);
  for (int quiet = 0; Clock::now() < settled && quiet < 2;) {
    quiet = left_behind() ? 0 : quiet + 1;
    deadline_clock_skew_ms.fetch_add(60'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
  fail_if(fixture->listener_queue() != 0, "a connection never accepted");
  fail_if(fixture->stats[0].connections.load(std::memory_order_relaxed) != 0,
          "a connection left open after every client went");
  fail_if(sockets_open() != 1, "a socket left open after every client went");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture = new Fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script script{data, size};
  run(script);
  return 0;
}
