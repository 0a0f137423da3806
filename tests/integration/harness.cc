#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ringhttpd::test {
namespace {

constexpr auto io_timeout = std::chrono::seconds(20);

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// io_uring_setup -> EPERM; every other syscall allowed.
void deny_io_uring_setup() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
}

std::vector<char*> argv_of(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  return argv;
}

// fork+exec for the one case posix_spawn cannot do: a seccomp filter.
pid_t spawn_without_io_uring(const std::vector<std::string>& args, int stdout_fd, int stderr_fd) {
  std::vector<char*> argv = argv_of(args);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(stdout_fd, STDOUT_FILENO);
    dup2(stderr_fd, STDERR_FILENO);
    deny_io_uring_setup();
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

pid_t spawn(const std::vector<std::string>& args, int stdout_fd, int stderr_fd) {
  std::vector<char*> argv = argv_of(args);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  pid_t pid = -1;
  int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    errno = error;
    fail("posix_spawn " + args[0]);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// As wait_status, but a process still running after `limit` is killed
// (SIGKILL: 137): a server that should have refused to start fails the
// test instead of hanging it.
int wait_status_within(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      return wait_status(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string slurp(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

// ---- TempDir ------------------------------------------------------------------

TempDir::TempDir() {
  char pattern[] = "/tmp/ringhttpd-test-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    fail("mkdtemp");
  }
  _path = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(_path, ignored);
}

std::string TempDir::write(const std::string& relative, const std::string& contents) const {
  std::filesystem::path full = std::filesystem::path(_path) / relative;
  std::filesystem::create_directories(full.parent_path());
  std::ofstream file(full, std::ios::binary);
  file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  return full.string();
}

std::string TempDir::mkdir(const std::string& relative) const {
  std::filesystem::path full = std::filesystem::path(_path) / relative;
  std::filesystem::create_directories(full);
  return full.string();
}

std::string random_bytes(size_t count, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string bytes(count, '\0');
  for (size_t i = 0; i < count; ++i) {
    bytes[i] = static_cast<char>(random() & 0xFF);
  }
  return bytes;
}

std::string read_file(const std::string& path) { return slurp(path); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  return lines;
}

long resident_kib(pid_t pid) {
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  size_t at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

void stop_process(pid_t pid) {
  kill(pid, SIGSTOP);
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (int wait = 0; wait < 2000; ++wait) {
    bool all_stopped = true;
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::string stat = slurp(task.path().string() + "/stat");
      size_t state = stat.rfind(") ");
      all_stopped &= state != std::string::npos && stat[state + 2] == 'T';
    }
    if (all_stopped) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  throw std::runtime_error("process " + std::to_string(pid) + " did not stop");
}

void expect_clean_stderr(const std::string& text) {
  for (const char* marker : {"AddressSanitizer", "LeakSanitizer", "runtime error:",
                             "stale completion", "io_uring_enter"}) {
    EXPECT_EQ(text.find(marker), std::string::npos) << "server stderr:\n" << text;
  }
}

// ---- ServerProcess ----------------------------------------------------------

ServerProcess::ServerProcess(const std::string& root, std::vector<std::string> extra_args,
                             const std::string& listen, std::vector<std::string> launcher) {
  std::vector<std::string> args = {RINGHTTPD_BINARY, "--root", root, "--listen", listen,
                                   "--workers", "2"};
  auto flag = std::find(extra_args.begin(), extra_args.end(), "--access-log");
  if (flag == extra_args.end()) {
    char log_pattern[] = "/tmp/ringhttpd-access-XXXXXX";
    close(mkstemp(log_pattern));
    _access_log_path = log_pattern;
    _own_access_log = true;
    args.insert(args.end(), {"--access-log", _access_log_path});
  } else if (flag + 1 != extra_args.end()) {
    _access_log_path = *(flag + 1);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.insert(args.begin(), launcher.begin(), launcher.end());
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    fail("pipe2");
  }
  char stderr_pattern[] = "/tmp/ringhttpd-stderr-XXXXXX";
  int stderr_fd = mkstemp(stderr_pattern);
  _stderr_path = stderr_pattern;
  _pid = spawn(args, out[1], stderr_fd);
  close(out[1]);
  close(stderr_fd);
  _stdout_fd = out[0];

  std::string text;
  auto deadline = std::chrono::steady_clock::now() + io_timeout;
  // With TLS, the start lines end with the one saying how records are sealed.
  bool tls = std::find(args.begin(), args.end(), "--listen-tls") != args.end();
  auto started = [&] {
    size_t tls_line = text.find("ringhttpd: TLS:");
    return tls ? tls_line != std::string::npos && text.find('\n', tls_line) != std::string::npos
               : text.find('\n') != std::string::npos;
  };
  while (!started()) {
    pollfd wait{_stdout_fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || poll(&wait, 1, static_cast<int>(left.count())) <= 0) {
      throw std::runtime_error("server did not report its port; stderr: " + stderr_text());
    }
    char chunk[512];
    ssize_t n = read(_stdout_fd, chunk, sizeof chunk);
    if (n <= 0) {
      throw std::runtime_error("server exited at start; stderr: " + stderr_text());
    }
    text.append(chunk, static_cast<size_t>(n));
  }
  // "ringhttpd: listening on http://127.0.0.1:PORT/ ..." or "http://[::1]:PORT/";
  // "https://" for a --listen-tls address.
  auto port_after = [&](const std::string& scheme) -> uint16_t {
    size_t at = text.find(scheme);
    if (at == std::string::npos) {
      return 0;
    }
    size_t slash = text.find('/', at + scheme.size());
    size_t colon = text.rfind(':', slash);
    if (slash == std::string::npos || colon == std::string::npos) {
      throw std::runtime_error("unexpected start line: " + text);
    }
    return static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
  };
  _port = port_after("http://");
  _tls_port = port_after("https://");
  if (_port == 0 && _tls_port == 0) {
    throw std::runtime_error("unexpected start line: " + text);
  }
  _stdout_rest = text.substr(text.find('\n') + 1);
}

ServerProcess::~ServerProcess() {
  if (_pid > 0) {
    stop();
  }
  if (_stdout_fd >= 0) {
    close(_stdout_fd);
  }
  unlink(_stderr_path.c_str());
  if (_own_access_log) {
    unlink(_access_log_path.c_str());
  }
}

std::string ServerProcess::rest_of_stdout() {
  char chunk[4096];
  ssize_t n;
  while ((n = read(_stdout_fd, chunk, sizeof chunk)) > 0) {
    _stdout_rest.append(chunk, static_cast<size_t>(n));
  }
  return _stdout_rest;
}

int ServerProcess::stop() {
  if (_pid <= 0) {
    return -1;
  }
  kill(_pid, SIGTERM);
  int status = wait_status(_pid);
  _pid = -1;
  return status;
}

std::string ServerProcess::stderr_text() const { return slurp(_stderr_path); }

namespace {

std::pair<int, std::string> run_with_stderr(const std::vector<std::string>& argv, bool deny_io_uring,
                                            std::chrono::milliseconds limit) {
  char pattern[] = "/tmp/ringhttpd-stderr-XXXXXX";
  int stderr_fd = mkstemp(pattern);
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_t pid = deny_io_uring ? spawn_without_io_uring(argv, null_fd, stderr_fd)
                            : spawn(argv, null_fd, stderr_fd);
  close(null_fd);
  close(stderr_fd);
  int status = wait_status_within(pid, limit);
  std::string text = slurp(pattern);
  unlink(pattern);
  return {status, text};
}

}  // namespace

std::pair<int, std::string> run_to_exit(std::vector<std::string> args, bool deny_io_uring) {
  args.insert(args.begin(), RINGHTTPD_BINARY);
  return run_with_stderr(args, deny_io_uring, std::chrono::seconds(10));
}

std::pair<int, std::string> run_command(const std::vector<std::string>& argv) {
  return run_with_stderr(argv, false, std::chrono::seconds(20));
}

int listen_on_loopback(uint16_t& port, bool reuse_port, bool inheritable) {
  int fd = socket(AF_INET, SOCK_STREAM | (inheritable ? 0 : SOCK_CLOEXEC), 0);
  int one = 1;
  if (reuse_port) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 4096) != 0) {
    fail("listen_on_loopback");
  }
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

// ---- TestCa -------------------------------------------------------------------

namespace {

void run_openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env", "openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [status, errors] = run_command(argv);
  if (status != 0) {
    throw std::runtime_error("openssl " + args.front() + " failed: " + errors);
  }
}

}  // namespace

TestCa::TestCa(const std::string& dir)
    : _dir(dir), _ca_file(dir + "/test-ca.pem"), _ca_key(dir + "/test-ca.key") {
  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", _ca_key, "-out", _ca_file, "-subj", "/CN=ringhttpd test CA", "-days", "2",
               "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign"});
}

TestCa::Pair TestCa::issue(const std::string& name, const std::vector<std::string>& names,
                           const std::string& dir) const {
  std::string where = dir.empty() ? _dir : dir;
  Pair pair{where + "/" + name + ".pem", where + "/" + name + ".key"};
  std::string request = _dir + "/" + name + ".csr";
  std::string extensions = _dir + "/" + name + ".ext";
  std::string alternatives;
  for (const std::string& each : names) {
    bool address = each.find_first_not_of("0123456789.:") == std::string::npos;
    alternatives += (alternatives.empty() ? "" : ",") + std::string(address ? "IP:" : "DNS:") + each;
  }
  std::ofstream(extensions) << "subjectAltName=" << alternatives << "\n";
  run_openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               pair.key, "-out", request, "-subj", "/CN=" + names.front()});
  run_openssl({"x509", "-req", "-in", request, "-CA", _ca_file, "-CAkey", _ca_key, "-CAcreateserial",
               "-out", pair.cert, "-days", "2", "-extfile", extensions});
  return pair;
}

// ---- Client -------------------------------------------------------------------

std::optional<std::string> Response::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

Client::Client(uint16_t port, bool ipv6) {
  _fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage storage{};
  socklen_t length;
  if (ipv6) {
    auto& address = reinterpret_cast<sockaddr_in6&>(storage);
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(port);
    address.sin6_addr = in6addr_loopback;
    length = sizeof address;
  } else {
    auto& address = reinterpret_cast<sockaddr_in&>(storage);
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof address;
  }
  if (connect(_fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    fail("connect");
  }
}

Client::Client(uint16_t port, const TlsOptions& tls) : Client(port) {
  _tls_context = SSL_CTX_new(TLS_client_method());
  if (tls.min_version != 0) {
    SSL_CTX_set_security_level(_tls_context, 0);  // lets a test offer TLS 1.0/1.1
    SSL_CTX_set_min_proto_version(_tls_context, tls.min_version);
    SSL_CTX_set_cipher_list(_tls_context, "DEFAULT@SECLEVEL=0");
  }
  if (tls.max_version != 0) {
    SSL_CTX_set_max_proto_version(_tls_context, tls.max_version);
  }
  if (!tls.ca_file.empty()) {
    SSL_CTX_load_verify_locations(_tls_context, tls.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(_tls_context, SSL_VERIFY_PEER, nullptr);
  }
  _ssl = SSL_new(_tls_context);
  SSL_set_fd(_ssl, _fd);
  SSL_set_tlsext_host_name(_ssl, tls.server_name.c_str());
  if (!tls.ca_file.empty()) {
    SSL_set1_host(_ssl, tls.server_name.c_str());
  }
  if (tls.alpn != nullptr) {
    std::string list = std::string(1, static_cast<char>(std::strlen(tls.alpn))) + tls.alpn;
    SSL_set_alpn_protos(_ssl, reinterpret_cast<const unsigned char*>(list.data()),
                        static_cast<unsigned>(list.size()));
  }
  if (tls.resume != nullptr) {
    SSL_set_session(_ssl, tls.resume);
  }
  timeval wait{20, 0};  // a handshake that never ends fails the test, not hangs it
  setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  if (SSL_connect(_ssl) != 1) {
    unsigned long error = ERR_get_error();
    char text[256] = {};
    ERR_error_string_n(error, text, sizeof text);
    ERR_clear_error();
    throw std::runtime_error(std::string("TLS handshake failed: ") + text);
  }
}

Client::~Client() {
  if (_ssl != nullptr) {
    // As a real client: without a shutdown, OpenSSL would also mark the
    // session not resumable.
    SSL_set_shutdown(_ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(_ssl);
    SSL_CTX_free(_tls_context);
  }
  if (_fd >= 0) {
    close(_fd);
  }
}

void Client::send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = _ssl != nullptr
                    ? SSL_write(_ssl, bytes.data() + sent, static_cast<int>(bytes.size() - sent))
                    : ::send(_fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ERR_clear_error();
      fail("send");
    }
    sent += static_cast<size_t>(n);
  }
}

bool Client::fill(std::chrono::milliseconds timeout) {
  char chunk[65536];
  if (_ssl != nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (SSL_pending(_ssl) == 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd wait{_fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&wait, 1, static_cast<int>(left.count())) <= 0) {
          return false;
        }
      }
      int n = SSL_read(_ssl, chunk, sizeof chunk);
      if (n > 0) {
        _buffered.append(chunk, static_cast<size_t>(n));
        return true;
      }
      int error = SSL_get_error(_ssl, n);
      ERR_clear_error();
      if (error == SSL_ERROR_ZERO_RETURN) {
        _close_notify = true;
      }
      if (error != SSL_ERROR_WANT_READ) {
        return false;  // close_notify, EOF, or a broken record
      }
    }
  }
  pollfd wait{_fd, POLLIN, 0};
  if (poll(&wait, 1, static_cast<int>(timeout.count())) <= 0) {
    return false;
  }
  ssize_t n = recv(_fd, chunk, sizeof chunk, 0);
  if (n <= 0) {
    return false;
  }
  _buffered.append(chunk, static_cast<size_t>(n));
  return true;
}

Response Client::read_response(bool head_request) {
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(io_timeout);
  size_t head_end;
  while ((head_end = _buffered.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(timeout)) {
      throw std::runtime_error("connection ended before a response head; got: " + _buffered);
    }
  }
  Response response;
  std::string head = _buffered.substr(0, head_end + 2);
  _buffered.erase(0, head_end + 4);
  size_t line_end = head.find("\r\n");
  response.status_line = head.substr(0, line_end);
  if (response.status_line.rfind("HTTP/1.1 ", 0) != 0) {
    throw std::runtime_error("bad status line: " + response.status_line);
  }
  response.status = std::stoi(response.status_line.substr(9, 3));
  for (size_t at = line_end + 2; at < head.size();) {
    size_t end = head.find("\r\n", at);
    std::string line = head.substr(at, end - at);
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      throw std::runtime_error("bad header line: " + line);
    }
    size_t value_start = line.find_first_not_of(' ', colon + 1);
    response.headers.emplace_back(line.substr(0, colon),
                                  value_start == std::string::npos ? "" : line.substr(value_start));
    at = end + 2;
  }
  if (head_request || response.status == 304 || response.status == 204) {
    return response;
  }
  std::optional<std::string> length = response.header("Content-Length");
  if (!length) {
    throw std::runtime_error("response without Content-Length: " + response.status_line);
  }
  size_t wanted = std::stoull(*length);
  while (_buffered.size() < wanted) {
    if (!fill(timeout)) {
      throw std::runtime_error("body ended after " + std::to_string(_buffered.size()) + " of " +
                               std::to_string(wanted) + " bytes");
    }
  }
  response.body = _buffered.substr(0, wanted);
  _buffered.erase(0, wanted);
  return response;
}

Response Client::get(const std::string& target, const std::string& extra_headers,
                     const std::string& method) {
  send(method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n");
  return read_response(method == "HEAD");
}

bool Client::closed_by_peer(std::chrono::milliseconds timeout) {
  if (_ssl != nullptr) {
    size_t before = _buffered.size();
    while (fill(timeout)) {
    }
    return _buffered.size() == before;  // ended with nothing more to read
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd wait{_fd, POLLIN, 0};
    if (poll(&wait, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char byte;
    ssize_t n = recv(_fd, &byte, 1, 0);
    if (n <= 0) {
      return _buffered.empty();
    }
    _buffered.push_back(byte);
  }
}

std::string Client::read_until_close(std::chrono::milliseconds timeout) {
  while (fill(timeout)) {
  }
  std::string all = std::move(_buffered);
  _buffered.clear();
  return all;
}

}  // namespace ringhttpd::test
