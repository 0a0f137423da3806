// The access log seen from outside: whole lines from several workers into a
// FIFO, rotation under load, flush at stop, stdout, and a disk that is full.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace ringhttpd::test {
namespace {

using namespace std::chrono_literals;

// Combined Log Format, strictly: a line that two workers interleaved, or
// one cut in two, does not match.
const std::regex combined_line(
    R"(^(\d{1,3}(\.\d{1,3}){3}) - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] )"
    R"("(GET|HEAD) (/[^ "]*) HTTP/1\.[01]" (\d{3}) (\d+|-) "([^"\\]|\\.)*" "([^"\\]|\\.)*"$)");

// `total` requests over `connections` keep-alive connections, 50 pipelined at
// a time, alternating a few paths so lines differ in length.
void run_load(uint16_t port, int total, int connections) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      try {
        Client client(port);
        int mine = total / connections + (c < total % connections ? 1 : 0);
        for (int done = 0; done < mine;) {
          int batch = std::min(50, mine - done);
          std::string burst;
          for (int i = 0; i < batch; ++i) {
            int n = done + i;
            std::string path = n % 3 == 0 ? "/a.txt" : n % 3 == 1 ? "/dir/b.html" : "/missing";
            burst += "GET " + path + "?n=" + std::to_string(n) +
                     " HTTP/1.1\r\nHost: t\r\nUser-Agent: load/" + std::to_string(c) + "\r\n\r\n";
          }
          client.send(burst);
          for (int i = 0; i < batch; ++i) {
            client.read_response();
          }
          done += batch;
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

struct AccessLogTest : ::testing::Test {
  AccessLogTest() {
    root.write("a.txt", "a");
    root.write("dir/b.html", "<b>b</b>");
  }
  TempDir root;
  TempDir logs;
};

TEST_F(AccessLogTest, FourWorkersIntoAFifoGiveExactlyOneWholeLinePerRequest) {
  std::string fifo = logs.path() + "/access.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] {
    int fd = open(fifo.c_str(), O_RDONLY);  // until the server opens it
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
      received.append(chunk, static_cast<size_t>(n));
    }
    close(fd);
  });
  // Each load client keeps one connection for thousands of requests.
  ServerProcess server(root.path(),
                       {"--workers", "4", "--access-log", fifo, "--keepalive-requests", "0"});
  constexpr int total = 20'000;
  run_load(server.port(), total, 16);
  EXPECT_EQ(server.stop(), 0);  // the reader sees EOF once the server is gone
  reader.join();
  expect_clean_stderr(server.stderr_text());

  std::vector<std::string> lines = lines_of(received);
  ASSERT_EQ(lines.size(), static_cast<size_t>(total));
  // Each load client numbers its own requests (?n=) and names itself in
  // its User-Agent (load/C): every (client, n) must appear exactly once.
  std::set<std::pair<int, int>> seen;
  for (const std::string& line : lines) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, combined_line)) << line;
    std::string target = match[4];
    int n = std::stoi(target.substr(target.find("?n=") + 3));
    std::string status = match[5];
    EXPECT_EQ(status, target.starts_with("/missing") ? "404" : "200") << line;
    int client = std::stoi(line.substr(line.rfind("\"load/") + 6));
    EXPECT_TRUE(seen.emplace(client, n).second) << "logged twice: " << line;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(total)) << "every request logged once";
}

TEST_F(AccessLogTest, ReopenDuringLoadLosesNoEntry) {
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--log-flush", "50ms",
                                     "--keepalive-requests", "0"});  // one connection per client
  std::atomic<bool> keep_going{true};
  std::atomic<int> completed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      Client client(server.port());
      while (keep_going) {
        std::string burst;
        for (int i = 0; i < 20; ++i) {
          burst += "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n";
        }
        client.send(burst);
        for (int i = 0; i < 20; ++i) {
          client.read_response();
          ++completed;
        }
      }
    });
  }
  for (int rotation = 1; rotation <= 3; ++rotation) {
    std::this_thread::sleep_for(150ms);  // the clients keep the server busy meanwhile
    std::filesystem::rename(path, path + "." + std::to_string(rotation));  // what logrotate does
    kill(server.pid(), SIGUSR1);                                        // its postrotate
  }
  std::this_thread::sleep_for(150ms);
  keep_going = false;
  for (std::thread& client : clients) {
    client.join();
  }
  EXPECT_EQ(server.stop(), 0);
  expect_clean_stderr(server.stderr_text());
  size_t count = 0;
  size_t files_with_lines = 0;
  for (const auto& file : std::filesystem::directory_iterator(logs.path())) {
    std::vector<std::string> lines = lines_of(read_file(file.path()));
    for (const std::string& line : lines) {
      EXPECT_TRUE(std::regex_match(line, combined_line)) << line;
    }
    count += lines.size();
    files_with_lines += lines.empty() ? 0 : 1;
  }
  EXPECT_GT(completed.load(), 1000);
  EXPECT_EQ(count, static_cast<size_t>(completed.load()));
  EXPECT_EQ(files_with_lines, 4u) << "every reopen must take effect";
}

TEST_F(AccessLogTest, SigtermWritesWhatIsBuffered) {
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--log-flush", "1h"});
  Client client(server.port());
  for (int i = 0; i < 10; ++i) {
    client.get("/a.txt");
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(read_file(path), "");  // still buffered: the flush interval is an hour
  EXPECT_EQ(server.stop(), 0);
  EXPECT_EQ(lines_of(read_file(path)).size(), 10u);
}

TEST_F(AccessLogTest, FullBuffersAreWrittenByTheNextTickWhenFew) {
  // Full buffers wait for a longer write chain, but never past the next
  // tick (a second): with a 3 KiB User-Agent each 4 KiB buffer holds one
  // entry, so three requests seal two buffers and leave one open.
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--log-flush", "1h"});
  Client client(server.port());
  std::string agent = "User-Agent: " + std::string(3000, 'u') + "\r\n";
  for (int i = 0; i < 3; ++i) {
    client.get("/a.txt", agent);
  }
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (lines_of(read_file(path)).size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(lines_of(read_file(path)).size(), 2u);
  EXPECT_EQ(server.stop(), 0);
  EXPECT_EQ(lines_of(read_file(path)).size(), 3u);
}

TEST_F(AccessLogTest, ShortFlushIntervalIsHonoured) {
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--log-flush", "50ms"});
  Client client(server.port());
  client.get("/a.txt");
  auto deadline = std::chrono::steady_clock::now() + 400ms;
  while (read_file(path).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(lines_of(read_file(path)).size(), 1u) << "not written within 400 ms of a 50 ms flush";
  EXPECT_EQ(server.stop(), 0);
}

TEST_F(AccessLogTest, DashWritesToStdoutInCommonFormat) {
  ServerProcess server(root.path(), {"--access-log", "-", "--log-format", "common"});
  Client client(server.port());
  client.get("/a.txt");
  client.get("/missing", "", "HEAD");
  EXPECT_EQ(server.stop(), 0);
  std::vector<std::string> lines = lines_of(server.rest_of_stdout());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].ends_with("\"GET /a.txt HTTP/1.1\" 200 1")) << lines[0];
  EXPECT_TRUE(lines[1].ends_with("\"HEAD /missing HTTP/1.1\" 404 -")) << lines[1];
  EXPECT_TRUE(lines[0].starts_with("127.0.0.1 - - [")) << lines[0];
}

TEST_F(AccessLogTest, AFullDiskCostsEntriesNotService) {
  ServerProcess server(root.path(), {"--access-log", "/dev/full", "--log-flush", "10ms"});
  for (int i = 0; i < 20; ++i) {
    Client client(server.port());
    EXPECT_EQ(client.get("/a.txt").body, "a");
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(server.stop(), 0);
  std::string text = server.stderr_text();
  EXPECT_NE(text.find("entries dropped (No space left on device)"), std::string::npos) << text;
  EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 4) << "one line per interval, not per entry";
  expect_clean_stderr(text);
}

// A head that never came whole is logged when its deadline closes the
// connection (408, as nginx does); a connection that never sent a byte is not.
TEST_F(AccessLogTest, AHeaderTimeoutIsLoggedAs408) {
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--header-timeout", "1s",
                                     "--log-flush", "100ms"});
  Client partial(server.port());
  partial.send("GET /a.txt HTTP/1.1\r\nHost: t\r\n");  // and nothing more
  Client silent(server.port());
  EXPECT_TRUE(partial.closed_by_peer(3000ms));
  EXPECT_TRUE(silent.closed_by_peer(3000ms));
  EXPECT_EQ(server.stop(), 0);
  std::vector<std::string> lines = lines_of(read_file(path));
  ASSERT_EQ(lines.size(), 1u) << read_file(path);
  EXPECT_NE(lines[0].find(" \"-\" 408 - "), std::string::npos) << lines[0];  // no body: "-"
}

// A client that resets its connection after its request is gone before its
// response: the first send fails with ECONNRESET, and the line says 499 (as
// nginx does), never a 200 that sent nothing.
TEST_F(AccessLogTest, AClientGoneBeforeItsResponseIsLoggedAs499) {
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--log-flush", "100ms", "--workers", "1"});
  Client warm(server.port());
  EXPECT_EQ(warm.get("/a.txt").body, "a");  // cached: answered with one SENDMSG
  // Stopped, the server cannot answer first: the kernel completes each
  // connection and takes its request, then its reset.
  stop_process(server.pid());
  for (int i = 0; i < 20; ++i) {
    Client client(server.port());
    client.send("GET /a.txt?gone HTTP/1.1\r\nHost: t\r\n\r\n");
    linger reset{1, 0};
    setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }  // each close sends RST at once
  kill(server.pid(), SIGCONT);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server.stop(), 0);
  int gone = 0;
  int answered = 0;
  for (const std::string& line : lines_of(read_file(path))) {
    if (line.find("?gone") == std::string::npos) {
      continue;
    }
    gone += line.find("\" 499 - ") != std::string::npos ? 1 : 0;
    answered += line.find("\" 200 1 ") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(answered, 0) << read_file(path);
  EXPECT_EQ(gone, 20) << read_file(path);
}

// A write the disk cuts short (here RLIMIT_FSIZE, set from outside mid-line)
// leaves the rest of its buffer to be written once the disk takes it: no
// line is left half written, none is lost.
// A regular file takes its sealed buffers in one WRITEV; one stopped short
// in the middle of them (a file size limit) loses no line and halves none:
// the buffers it did not finish go first in the next write.
TEST_F(AccessLogTest, AWritevCutShortAmongManyBuffersLosesNoLine) {
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--log-flush", "1h", "--workers", "1"});
  Client client(server.port());
  EXPECT_EQ(client.get("/a.txt").body, "a");
  // The first line is still buffered (the flush interval is an hour): the
  // limit lets the next write through for 10 KiB, inside its third buffer.
  rlimit cut{10 * 1024, RLIM_INFINITY};
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_FSIZE, &cut, nullptr), 0);
  constexpr int total = 400;  // about 9 buffers of entries: one WRITEV of 8
  for (int i = 1; i < total; ++i) {
    EXPECT_EQ(client.get("/a.txt?n=" + std::to_string(i)).body, "a");
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(std::filesystem::file_size(path), 10u * 1024) << "the write stopped at the limit";
  rlimit free_again{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_FSIZE, &free_again, nullptr), 0);
  EXPECT_EQ(server.stop(), 0);  // writes everything held
  std::vector<std::string> lines = lines_of(read_file(path));
  ASSERT_EQ(lines.size(), static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) {
    std::string target = i == 0 ? "/a.txt " : "/a.txt?n=" + std::to_string(i) + " ";
    EXPECT_NE(lines[static_cast<size_t>(i)].find("\"GET " + target), std::string::npos) << lines[static_cast<size_t>(i)];
    ASSERT_TRUE(std::regex_match(lines[static_cast<size_t>(i)], combined_line)) << lines[static_cast<size_t>(i)];
  }
}

TEST_F(AccessLogTest, AShortWriteLeavesNoHalfLine) {
  std::string path = logs.path() + "/access.log";
  ServerProcess server(root.path(), {"--access-log", path, "--log-flush", "100ms", "--workers", "1"});
  Client client(server.port());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.get("/a.txt").body, "a");
  }
  std::this_thread::sleep_for(400ms);
  auto before = std::filesystem::file_size(path);
  rlimit cut{before + 40, RLIM_INFINITY};  // the next write stops 40 bytes into a line
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_FSIZE, &cut, nullptr), 0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.get("/dir/b.html").body, "<b>b</b>");  // serving goes on
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(std::filesystem::file_size(path), before + 40);
  rlimit free_again{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_FSIZE, &free_again, nullptr), 0);
  EXPECT_EQ(client.get("/a.txt").body, "a");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(server.stop(), 0);
  std::vector<std::string> lines = lines_of(read_file(path));
  EXPECT_EQ(lines.size(), 11u) << read_file(path);
  for (const std::string& line : lines) {
    EXPECT_TRUE(std::regex_match(line, combined_line)) << line;
  }
}

TEST_F(AccessLogTest, BadLogFlagsExitTwo) {
  for (std::vector<std::string> args : {
           std::vector<std::string>{"--log-format", "xml"},
           std::vector<std::string>{"--log-level", "loud"},
           std::vector<std::string>{"--log-flush", "soon"},
           std::vector<std::string>{"--access-log", "/nonexistent-dir/access.log"},
       }) {
    std::string flag = args[0];
    args.insert(args.begin(), {"--root", root.path(), "--listen", "127.0.0.1:0"});
    auto [status, text] = run_to_exit(args);
    EXPECT_EQ(status, 2) << text;
    EXPECT_NE(text.find(flag), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  }
}

}  // namespace
}  // namespace ringhttpd::test
