#pragma once
// The server's configuration: every tunable, with its default, in one struct.
// Filled from the command line by parse_command_line() (command_line.h).

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/address_filter.h"
#include "conf/header_rules.h"

namespace ringhttpd {

struct ListenAddress {
  sockaddr_storage address{};
  socklen_t address_len = 0;
  std::string text;  // as the user wrote it, for messages
};

// Precompressed siblings: "file.br", "file.zst", "file.gz" next to "file".
enum class ContentCoding : uint8_t { br, zstd, gzip };
constexpr std::string_view coding_name(ContentCoding coding) {
  return coding == ContentCoding::br ? "br" : coding == ContentCoding::zstd ? "zstd" : "gzip";
}
constexpr std::string_view coding_suffix(ContentCoding coding) {
  return coding == ContentCoding::br ? ".br" : coding == ContentCoding::zstd ? ".zst" : ".gz";
}

struct Config {
  std::string root;                          // directory served, made absolute
  std::vector<ListenAddress> listen;         // one listener per worker per entry
  std::vector<ListenAddress> listen_tls;     // --listen-tls: HTTPS, the same way
  // TLS (src/tls/): the default certificate chain and key (PEM), and a
  // directory of HOST.pem/HOST.key pairs picked by SNI. Checked at start.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_dir;
  bool ktls = true;                          // --ktls auto: records to the kernel where it can
  uint32_t tls_handshake_timeout_ms = 10'000;  // accept to the end of the handshake
  unsigned workers = 1;                      // worker threads, one ring each
  std::vector<std::string> index_files = {"index.html", "index.htm"};
  uint32_t keepalive_timeout_ms = 15'000;    // idle between requests
  uint32_t keepalive_requests = 1000;        // requests per connection; 0: no limit
  uint32_t header_timeout_ms = 10'000;       // first byte to end of header block
  uint32_t linger_timeout_ms = 2'000;        // drain after SHUT_WR, per read
  uint32_t shutdown_timeout_ms = 10'000;     // SIGTERM: wait for in-flight work
  uint32_t drain_time_ms = 0;                // SIGTERM: keep accepting this long first
  uint32_t send_timeout_ms = 60'000;         // a response making no progress this long is cut
  uint32_t max_uri_bytes = 8 * 1024;         // request line longer -> 414
  uint32_t max_header_bytes = 16 * 1024;     // header block longer -> 431
  uint32_t max_header_count = 100;           // more fields -> 431
  uint32_t max_connections = 0;              // per worker; 0 = derive from RLIMIT_NOFILE
  uint32_t pipe_size_bytes = 256 * 1024;     // splice pipe capacity (F_SETPIPE_SZ)
  uint32_t pipes_per_worker = 0;             // the pool's bound; --max-pipes or derived (conf/pipe_budget.h)
  uint32_t grown_pipes_per_worker = 0;       // derived: enlarged pipes at once (conf/pipe_budget.h)
  uint32_t io_threads = 32;                  // io-wq threads per worker for sockets and pipes
  uint32_t max_ranges = 16;                  // more ranges in one request: answered 200
  HeaderRules header_rules;                  // --header, --expires
  // --precompressed: codings to look for, in the server's preference order.
  std::vector<ContentCoding> precompressed = {ContentCoding::br, ContentCoding::zstd,
                                              ContentCoding::gzip};
  std::string metrics_path;                  // Prometheus text here; empty: off
  AddressFilter metrics_allow;               // who may read it
  std::string health_path;                   // 200, or 503 while stopping; empty: off
  bool vhosts = false;                       // serve ROOT/<host>/ by the Host header
  bool allow_dotfiles = false;               // else a path segment starting with '.' is 404
  bool no_symlinks = false;                  // refuse every symlink (RESOLVE_NO_SYMLINKS)
  // Open-file cache, per worker (cache/file_cache.h).
  uint32_t cache_entries = 16384;            // capped by the fd budget, see command_line.cc
  uint32_t cache_valid_ms = 2'000;           // recheck a file (or retry a miss) after this
  uint32_t cache_idle_ms = 60'000;           // drop an entry unused this long; 0: never
  uint32_t cache_body_max_bytes = 64 * 1024; // files up to this size are kept in memory
  uint64_t cache_body_total_bytes = 256ull << 20;  // all workers together
  std::string mime_types_path = "/etc/mime.types";
  // Access log: a path, "-" for stdout (journald under systemd), or "off".
  std::string access_log = "-";
  bool log_combined = true;                  // --log-format combined|common
  uint32_t log_flush_ms = 1'000;             // a buffered entry is written within this
  int log_level = 1;                         // 0 error, 1 warn, 2 info
};

}  // namespace ringhttpd
