#pragma once
// Black-box test harness: a temporary docroot, the real ringhttpd binary on
// an ephemeral loopback port, and a small HTTP/1.1 client over real sockets.

#include <openssl/ssl.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ringhttpd::test {

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return _path; }
  // Writes a file (creating parent directories) and returns its full path.
  std::string write(const std::string& relative, const std::string& contents) const;
  std::string mkdir(const std::string& relative) const;

 private:
  std::string _path;
};

std::string random_bytes(size_t count, uint64_t seed);
std::string read_file(const std::string& path);
// The text's lines, without their newlines.
std::vector<std::string> lines_of(const std::string& text);

// The resident memory of a process, in KiB (-1 when it has gone).
long resident_kib(pid_t pid);

// SIGSTOP, returning once every thread of the process is stopped: kill()
// only queues the signal, and on a busy machine a worker can still answer
// a request meanwhile.
void stop_process(pid_t pid);

// No sanitizer report, no alert: what every test's server must leave behind.
void expect_clean_stderr(const std::string& text);

// The server process. Started with --listen 127.0.0.1:0; the port is read
// from its "listening on" line. stop() sends SIGTERM and returns the exit
// status; the destructor stops it if the test did not.
class ServerProcess {
 public:
  // `listen` is the --listen value; the port is read back from the start line.
  // `launcher` runs before the binary (systemd-socket-activate -l ADDRESS).
  ServerProcess(const std::string& root, std::vector<std::string> extra_args = {},
                const std::string& listen = "127.0.0.1:0",
                std::vector<std::string> launcher = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  uint16_t port() const { return _port; }
  // The port of the first --listen-tls address (its "https://" start line).
  uint16_t tls_port() const { return _tls_port; }
  pid_t pid() const { return _pid; }
  int stop();           // SIGTERM, wait; returns the exit status (or 128+signal)
  std::string stderr_text() const;
  // The access log: a temporary file unless the test passed --access-log.
  const std::string& access_log_path() const { return _access_log_path; }
  // What the server wrote to stdout after its start line, up to EOF.
  std::string rest_of_stdout();

 private:
  pid_t _pid = -1;
  uint16_t _port = 0;
  uint16_t _tls_port = 0;
  int _stdout_fd = -1;
  std::string _stdout_rest;
  std::string _stderr_path;
  std::string _access_log_path;
  bool _own_access_log = false;
};

// Runs the binary to completion (for flag errors); returns {status, stderr}.
// With `deny_io_uring`, a seccomp filter in the child makes io_uring_setup
// fail with EPERM, as Docker's default profile does.
std::pair<int, std::string> run_to_exit(std::vector<std::string> args, bool deny_io_uring = false);
// A socket listening on 127.0.0.1 at a port the kernel picks (written to
// `port`). `reuse_port` sets SO_REUSEPORT, as ringhttpd's own listeners do;
// `inheritable` leaves out SOCK_CLOEXEC, for a child to be handed it.
int listen_on_loopback(uint16_t& port, bool reuse_port = false, bool inheritable = false);

// Runs any program to completion (killed after 20 s); returns {status, stderr}.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv);

struct Response {
  int status = 0;
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
  std::string body;
  std::optional<std::string> header(const std::string& name) const;  // case-insensitive
};

// A certificate authority for the tests, made with the openssl command in
// a directory of its own, and the server certificates it signs.
class TestCa {
 public:
  explicit TestCa(const std::string& dir);
  const std::string& ca_file() const { return _ca_file; }
  struct Pair {
    std::string cert;
    std::string key;
  };
  // DIR/NAME.pem and DIR/NAME.key (DIR: the CA's own unless given): a P-256
  // key and its certificate for `names` (DNS names; IP addresses too).
  Pair issue(const std::string& name, const std::vector<std::string>& names,
             const std::string& dir = "") const;

 private:
  std::string _dir;
  std::string _ca_file;
  std::string _ca_key;
};

// How a Client speaks TLS: verified against `ca_file`, with SNI.
struct TlsOptions {
  std::string ca_file;
  std::string server_name = "localhost";  // SNI, and the name verified
  int min_version = 0;
  int max_version = 0;
  SSL_SESSION* resume = nullptr;  // a session to resume
  const char* alpn = "http/1.1";
};

// One TCP connection to the server; with TlsOptions, a TLS one whose
// handshake (verified) is done by the constructor, which throws if it fails.
class Client {
 public:
  explicit Client(uint16_t port, bool ipv6 = false);
  Client(uint16_t port, const TlsOptions& tls);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& bytes);
  // Reads one response; `head_request` means no body follows whatever
  // Content-Length says. Throws std::runtime_error on EOF or a malformed one.
  Response read_response(bool head_request = false);
  // Sends one request and reads its response.
  Response get(const std::string& target, const std::string& extra_headers = "",
               const std::string& method = "GET");
  // True when the server closes the connection (EOF or reset) within the
  // timeout, with no unread response bytes before it.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  // Reads everything until EOF (or timeout): for raw exchanges.
  std::string read_until_close(std::chrono::milliseconds timeout);
  int fd() const { return _fd; }
  SSL* ssl() const { return _ssl; }
  // The session to resume with (read a response first: TLS 1.3 tickets
  // come after the handshake); the caller frees it.
  SSL_SESSION* session() const { return SSL_get1_session(_ssl); }
  // TLS: the server's close_notify came before its FIN (after read_until_close).
  bool close_notify_received() const { return _close_notify; }

 private:
  bool fill(std::chrono::milliseconds timeout);
  int _fd = -1;
  std::string _buffered;
  SSL_CTX* _tls_context = nullptr;
  SSL* _ssl = nullptr;
  bool _close_notify = false;
};

}  // namespace ringhttpd::test
