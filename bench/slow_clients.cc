// slow_clients: many clients downloading one large file slowly, each
// checking every byte, for bench/load.sh's slow-10m scenario.
//
//   slow_clients HOST PORT COUNT PATH FILE RATE
//
// Opens COUNT connections, sends GET PATH on each, and reads each response
// at RATE bytes per second at most (a small receive buffer, so the server
// sees a slow reader, not a fast one whose socket buffer hides it). Every
// body is compared with FILE, the same file on disk. Prints one line,
// "slow_clients: N of COUNT complete and byte-exact in S s", and exits 0
// only if all were; else 1 with what failed first.

#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "slow_clients: %s\n", what.c_str());
  std::exit(1);
}

uint64_t number(const char* text, const char* what) {
  uint64_t value = 0;
  std::string_view view(text);
  auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (error != std::errc() || end != view.data() + view.size() || value == 0) {
    fail(std::string(what) + ": not a positive whole number: '" + text + "'");
  }
  return value;
}

struct Download {
  int fd = -1;
  std::string head;          // until the blank line
  uint64_t body_length = 0;  // from Content-Length
  uint64_t received = 0;     // body bytes so far
  bool head_done = false;
  bool done = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    fail("usage: slow_clients HOST PORT COUNT PATH FILE RATE");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(number(argv[2], "PORT")));
  if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
    fail(std::string("HOST: not an IPv4 address: ") + argv[1]);
  }
  size_t count = number(argv[3], "COUNT");
  std::string request = std::string("GET ") + argv[4] + " HTTP/1.1\r\nHost: bench\r\n\r\n";
  int file = open(argv[5], O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (file < 0 || fstat(file, &info) != 0 || info.st_size == 0) {
    fail(std::string("FILE: cannot read ") + argv[5]);
  }
  auto expected_size = static_cast<uint64_t>(info.st_size);
  auto* expected = static_cast<const char*>(mmap(nullptr, expected_size, PROT_READ, MAP_PRIVATE, file, 0));
  if (expected == MAP_FAILED) {
    fail("FILE: mmap failed");
  }
  uint64_t rate = number(argv[6], "RATE");
  constexpr auto tick = std::chrono::milliseconds(10);
  uint64_t per_tick = std::max<uint64_t>(rate / 100, 1);

  std::vector<Download> downloads(count);
  for (Download& download : downloads) {
    download.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 16384;
    setsockopt(download.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (connect(download.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      fail(std::string("connect: ") + std::strerror(errno));
    }
    if (send(download.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      fail(std::string("send: ") + std::strerror(errno));
    }
    fcntl(download.fd, F_SETFL, O_NONBLOCK);
  }
  auto started = std::chrono::steady_clock::now();
  // Ten times what the rate allows, and a minute more: a stall, not slowness.
  auto limit = started + std::chrono::seconds(60 + 10 * expected_size / rate);
  size_t complete = 0;
  std::vector<char> chunk(per_tick + 65536);
  auto next_tick = started;
  while (complete < count) {
    if (std::chrono::steady_clock::now() > limit) {
      fail(std::to_string(count - complete) + " downloads still unfinished at the time limit");
    }
    for (Download& download : downloads) {
      if (download.done) {
        continue;
      }
      uint64_t budget = per_tick;
      while (budget > 0 && !download.done) {
        // The head first (small reads), then at most the tick's budget.
        size_t want = download.head_done ? budget : 1024;
        ssize_t got = recv(download.fd, chunk.data(), want, 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        }
        if (got <= 0) {
          fail(got == 0 ? "the server closed a connection mid-response"
                        : std::string("recv: ") + std::strerror(errno));
        }
        std::string_view bytes(chunk.data(), static_cast<size_t>(got));
        if (!download.head_done) {
          download.head.append(bytes);
          size_t blank = download.head.find("\r\n\r\n");
          if (blank == std::string::npos) {
            continue;
          }
          if (!download.head.starts_with("HTTP/1.1 200")) {
            fail("not a 200: " + download.head.substr(0, download.head.find("\r\n")));
          }
          for (std::string_view name : {"Content-Length: ", "content-length: "}) {
            if (size_t at = download.head.find(name); at != std::string::npos) {
              download.body_length = std::strtoull(download.head.c_str() + at + name.size(), nullptr, 10);
            }
          }
          if (download.body_length != expected_size) {
            fail("Content-Length " + std::to_string(download.body_length) + ", the file has " +
                 std::to_string(expected_size));
          }
          bytes = std::string_view(download.head).substr(blank + 4);
          download.head_done = true;
        } else {
          budget -= std::min<uint64_t>(budget, bytes.size());
        }
        if (download.received + bytes.size() > expected_size ||
            std::memcmp(expected + download.received, bytes.data(), bytes.size()) != 0) {
          fail("body bytes differ from the file at or after byte " + std::to_string(download.received));
        }
        download.received += bytes.size();
        if (download.received == expected_size) {
          download.done = true;
          close(download.fd);
          ++complete;
        }
      }
    }
    next_tick += tick;
    std::this_thread::sleep_until(next_tick);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("slow_clients: %zu of %zu complete and byte-exact in %.1f s\n", complete, count, seconds);
  return 0;
}
