// idle_clients: holds many idle keep-alive connections open against a server,
// for bench/load.sh's memory-per-connection scenario.
//
//   idle_clients HOST PORT COUNT PATH
//
// Opens COUNT connections, makes one GET PATH request on each and reads its
// whole response (so every server has done the work a real client causes and
// then parks the connection as keep-alive idle), prints "ready COUNT" and
// holds them until its standard input closes. Exits 1 with a one-line reason
// if a connection fails or a response is not a 200.

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "idle_clients: %s\n", what.c_str());
  std::exit(1);
}

sockaddr_storage resolve(const char* host, const char* port, socklen_t* length) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host, port, &hints, &found); rc != 0)
    fail(std::string("address ") + host + ":" + port + ": " + gai_strerror(rc));
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  *length = found->ai_addrlen;
  freeaddrinfo(found);
  return address;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) fail(std::string("send: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
}

// Reads one response with a Content-Length body; returns its status code.
int read_response(int fd, std::string& buffer) {
  buffer.clear();
  size_t head_end = std::string::npos;
  size_t body_length = 0;
  char chunk[65536];
  for (;;) {
    if (head_end != std::string::npos && buffer.size() >= head_end + body_length) break;
    ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) fail(got == 0 ? "server closed a connection mid-response"
                                : std::string("recv: ") + std::strerror(errno));
    buffer.append(chunk, static_cast<size_t>(got));
    if (head_end == std::string::npos) {
      size_t blank = buffer.find("\r\n\r\n");
      if (blank == std::string::npos) continue;
      head_end = blank + 4;
      std::string_view head(buffer.data(), head_end);
      for (std::string_view name : {"Content-Length:", "content-length:"}) {
        size_t at = head.find(name);
        if (at == std::string_view::npos) continue;
        const char* digits = head.data() + at + name.size();
        while (*digits == ' ') ++digits;
        std::from_chars(digits, head.data() + head.size(), body_length);
      }
    }
  }
  int status = 0;
  if (buffer.size() > 12) std::from_chars(buffer.data() + 9, buffer.data() + 12, status);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: idle_clients HOST PORT COUNT PATH\n");
    return 2;
  }
  int count = 0;
  std::string_view count_text(argv[3]);
  auto parsed = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (parsed.ec != std::errc() || count <= 0) fail(std::string("COUNT: not a positive number: ") + argv[3]);

  socklen_t address_length = 0;
  sockaddr_storage address = resolve(argv[1], argv[2], &address_length);
  std::string request = std::string("GET ") + argv[4] + " HTTP/1.1\r\nHost: " + argv[1] + "\r\n\r\n";

  std::vector<int> connections;
  connections.reserve(static_cast<size_t>(count));
  std::string response;
  for (int i = 0; i < count; ++i) {
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(std::string("socket (raise ulimit -n?): ") + std::strerror(errno));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), address_length) != 0)
      fail("connect #" + std::to_string(i) + ": " + std::strerror(errno));
    send_all(fd, request);
    int status = read_response(fd, response);
    if (status != 200) fail("connection #" + std::to_string(i) + ": status " + std::to_string(status));
    connections.push_back(fd);
  }
  std::printf("ready %d\n", count);
  std::fflush(stdout);

  // Hold every connection until told to stop: standard input closes.
  char ignored[256];
  while (read(STDIN_FILENO, ignored, sizeof ignored) > 0) {
  }
  for (int fd : connections) close(fd);
  return 0;
}
