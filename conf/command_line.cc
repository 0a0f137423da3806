#include "conf/command_line.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "conf/duration.h"
#include "conf/pipe_budget.h"
#include "conf/text.h"
// Repeatable flags take each value whole: a header value such as
// "public, max-age=60" has commas of its own. (--listen splits its own lists.)
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>
#include <filesystem>
#include <limits>
#include <thread>

namespace ringhttpd {
namespace {

[[noreturn]] void fail(std::string_view flag, std::string_view message) {
  throw ConfigError(std::string(flag) + ": " + std::string(message));
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  for_each_list_element(text, [&](std::string_view item) { items.emplace_back(item); });
  return items;
}

std::string validate_root(const std::string& root) {
  if (root.empty()) {
    fail("--root", "missing: name the directory to serve, e.g. --root /srv/origin");
  }
  struct stat st {};
  if (stat(root.c_str(), &st) != 0) {
    fail("--root", "'" + root + "': " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    fail("--root", "'" + root + "' is not a directory");
  }
  if (access(root.c_str(), R_OK | X_OK) != 0) {
    fail("--root", "'" + root + "' is not readable: " + std::strerror(errno));
  }
  return std::filesystem::absolute(root).lexically_normal().string();
}

std::vector<std::string> validate_index_files(std::string_view text) {
  std::vector<std::string> names = split_list(text);
  for (const std::string& name : names) {
    if (name.find('/') != std::string::npos || name == "." || name == ".." ||
        name.size() > 255) {
      fail("--index", "'" + name + "' is not a plain file name");
    }
  }
  return names;
}

uint64_t descriptor_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur == RLIM_INFINITY ? 2'000'000 : limit.rlim_cur;
}

// The descriptor budget. A few descriptors per worker are its own (ring,
// listeners, log) and two per pipe its pool may hold (conf/pipe_budget.h);
// of the rest of RLIMIT_NOFILE, each worker gets an equal share, half for
// connections and half for the files its cache holds open. So neither the
// cache nor the pipes can take the descriptors connections need.
uint64_t fd_share_per_worker(unsigned workers, unsigned pipes_each) {
  uint64_t budget = descriptor_limit();
  uint64_t reserve = 64 + (16ull + 2ull * pipes_each) * workers;
  uint64_t per_worker = budget > reserve ? (budget - reserve) / workers : 32;
  return per_worker / 2;
}

}  // namespace

uint64_t parse_unsigned(std::string_view flag, std::string_view text, uint64_t min,
                        uint64_t max) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    fail(flag, "'" + std::string(text) + "' is not a whole number");
  }
  if (value < min || value > max) {
    fail(flag, "'" + std::string(text) + "' is out of range (" + std::to_string(min) + "-" +
                   std::to_string(max) + ")");
  }
  return value;
}

uint32_t parse_duration_ms(std::string_view flag, std::string_view text) {
  constexpr uint64_t max_ms = 24ull * 3'600'000;
  std::optional<uint64_t> ms = parse_duration_text(text);
  if (!ms) {
    fail(flag, "'" + std::string(text) + "' is not a duration (examples: 15, 15s, 500ms, 2m)");
  }
  if (*ms > max_ms) {
    fail(flag, "'" + std::string(text) + "' is longer than 24h");
  }
  return static_cast<uint32_t>(*ms);
}

namespace {

std::string seconds(uint32_t ms) { return std::to_string(ms / 1000) + "s"; }

// Where and how connections are served.
void declare_serving_options(cxxopts::Options& options, const Config& defaults) {
  std::string default_workers = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
  // clang-format off
  options.add_options()
    ("r,root", "directory to serve", cxxopts::value<std::string>())
    ("l,listen", "address to listen on, repeatable: IP:PORT, [IPv6]:PORT or PORT "
     "(default 0.0.0.0:8080 unless --listen-tls is given)",
     cxxopts::value<std::vector<std::string>>())
    ("listen-tls", "address to serve HTTPS on, repeatable, as --listen (needs --tls-cert, --tls-key)",
     cxxopts::value<std::vector<std::string>>())
    ("tls-cert", "certificate chain for TLS, PEM (leaf first)", cxxopts::value<std::string>())
    ("tls-key", "private key of --tls-cert, PEM", cxxopts::value<std::string>())
    ("tls-dir", "directory of HOST.pem and HOST.key pairs, chosen by the client's SNI name",
     cxxopts::value<std::string>())
    ("ktls", "hand TLS records to the kernel (kTLS) when it can: auto or off",
     cxxopts::value<std::string>()->default_value("auto"))
    ("tls-handshake-timeout", "time allowed from accept to the end of a TLS handshake",
     cxxopts::value<std::string>()->default_value(seconds(defaults.tls_handshake_timeout_ms)))
    ("w,workers", "worker threads, one io_uring each",
     cxxopts::value<std::string>()->default_value(default_workers))
    ("index", "index files tried for a directory, in order",
     cxxopts::value<std::string>()->default_value("index.html,index.htm"))
    ("keepalive-timeout", "close a keep-alive connection idle this long",
     cxxopts::value<std::string>()->default_value(seconds(defaults.keepalive_timeout_ms)))
    ("keepalive-requests", "requests served on one connection before it closes (0: no limit)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.keepalive_requests)))
    ("header-timeout", "time allowed to send a whole request header",
     cxxopts::value<std::string>()->default_value(seconds(defaults.header_timeout_ms)))
    ("send-timeout", "close a connection whose response makes no progress this long",
     cxxopts::value<std::string>()->default_value(seconds(defaults.send_timeout_ms)))
    ("shutdown-timeout", "on SIGTERM, time allowed for in-flight responses",
     cxxopts::value<std::string>()->default_value(seconds(defaults.shutdown_timeout_ms)))
    ("drain-time", "on SIGTERM, keep accepting this long (Connection: close, health 503) before "
     "the listeners close", cxxopts::value<std::string>()->default_value("0s"))
    ("max-uri", "longest request line in bytes (414 beyond)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.max_uri_bytes)))
    ("max-header", "largest request header block in bytes (431 beyond)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.max_header_bytes)))
    ("max-headers", "most header fields in one request (431 beyond)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.max_header_count)))
    ("max-connections", "connections per worker (0: derived from RLIMIT_NOFILE)",
     cxxopts::value<std::string>()->default_value("0"))
    ("max-ranges", "most ranges served in one request (1-32); more get the whole file",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.max_ranges)))
    ("io-threads", "kernel helper threads (io-wq) per worker for socket and pipe work",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.io_threads)))
    ("max-pipes", "splice pipes per worker (0: derived from the pipe budget and RLIMIT_NOFILE)",
     cxxopts::value<std::string>()->default_value("0"))
    ("pipe-size", "bytes per splice pipe (F_SETPIPE_SZ; 4096-1048576)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.pipe_size_bytes)));
  // clang-format on
}

// What is served, and what is logged.
void declare_content_options(cxxopts::Options& options, const Config& defaults) {
  // clang-format off
  options.add_options()
    ("cache-entries", "open-file cache entries per worker (0: off; capped by the fd budget)",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.cache_entries)))
    ("cache-valid", "recheck a cached file (or retry a cached miss) after this",
     cxxopts::value<std::string>()->default_value(seconds(defaults.cache_valid_ms)))
    ("cache-idle", "drop a cached file (or answer) unused this long (0: never)",
     cxxopts::value<std::string>()->default_value(seconds(defaults.cache_idle_ms)))
    ("cache-body-max", "files up to this many bytes are served from memory",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.cache_body_max_bytes)))
    ("cache-body-bytes", "memory for cached bodies, all workers together",
     cxxopts::value<std::string>()->default_value(std::to_string(defaults.cache_body_total_bytes)))
    ("access-log", "access log file, - for stdout, or off",
     cxxopts::value<std::string>()->default_value(defaults.access_log))
    ("log-format", "access log format: combined or common",
     cxxopts::value<std::string>()->default_value("combined"))
    ("log-flush", "write a buffered access log entry within this long (plus one tick, at most 1s)",
     cxxopts::value<std::string>()->default_value(seconds(defaults.log_flush_ms)))
    ("log-level", "error log (stderr) level: error, warn or info",
     cxxopts::value<std::string>()->default_value("warn"))
    ("mime-types", "mime.types file; built-in table when absent",
     cxxopts::value<std::string>()->default_value(defaults.mime_types_path))
    ("header", "extra response header by rule, repeatable: 'PATTERN: Name: value' "
     "(PATTERN: /path/prefix or *.ext)", cxxopts::value<std::vector<std::string>>())
    ("expires", "Cache-Control max-age and Expires by rule, repeatable: 'PATTERN=DURATION' "
     "(3600, 12h, 30d, 1y, max)", cxxopts::value<std::vector<std::string>>())
    ("precompressed", "serve file.br/.zst/.gz to clients that accept them, in this order; off to disable",
     cxxopts::value<std::string>()->default_value("br,zstd,gzip"))
    ("vhosts", "serve ROOT/<host>/ chosen by the Host header (ROOT/_default/ for others)")
    ("metrics-path", "serve Prometheus metrics at this path (e.g. /metrics); off by default",
     cxxopts::value<std::string>()->default_value(""))
    ("metrics-allow", "clients allowed to read the metrics: addresses or CIDR blocks",
     cxxopts::value<std::string>()->default_value("127.0.0.0/8,::1"))
    ("health-path", "answer 200 here (503 while stopping), for load balancers; off by default",
     cxxopts::value<std::string>()->default_value(""))
    ("allow-dotfiles", "serve paths with a segment starting with '.' (.well-known always is)")
    ("no-symlinks", "refuse every symlink (by default they are followed within the root)")
    ("check", "check the flags, docroot, io_uring and log file, then exit (for ExecStartPre=)")
    ("h,help", "print this help and exit")
    ("v,version", "print the version and exit");
  // clang-format on
}

std::string text_of(const cxxopts::ParseResult& parsed, const char* name) {
  return parsed[name].as<std::string>();
}

uint32_t positive_duration_ms(const cxxopts::ParseResult& parsed, const char* name) {
  std::string flag = std::string("--") + name;
  uint32_t ms = parse_duration_ms(flag, text_of(parsed, name));
  if (ms == 0) {
    fail(flag, "must be more than 0");
  }
  return ms;
}

void read_connection_flags(const cxxopts::ParseResult& parsed, Config& config) {
  config.root = validate_root(parsed.count("root") ? text_of(parsed, "root") : "");
  auto addresses = [&](const char* name, std::vector<ListenAddress>& into) {
    if (parsed.count(name) == 0) {
      return;
    }
    for (const std::string& text : parsed[name].as<std::vector<std::string>>()) {
      for (const std::string& item : split_list(text)) {
        into.push_back(parse_listen_address(item, std::string("--") + name));
      }
    }
    if (into.empty()) {
      fail(std::string("--") + name, "needs at least one address");
    }
  };
  addresses("listen", config.listen);
  addresses("listen-tls", config.listen_tls);
  if (config.listen.empty() && config.listen_tls.empty()) {
    config.listen.push_back(parse_listen_address("0.0.0.0:8080"));
  }
  config.workers = static_cast<unsigned>(parse_unsigned("--workers", text_of(parsed, "workers"), 1, 1024));
  config.index_files = validate_index_files(text_of(parsed, "index"));
  config.keepalive_timeout_ms =
      parse_duration_ms("--keepalive-timeout", text_of(parsed, "keepalive-timeout"));
  config.keepalive_requests = static_cast<uint32_t>(parse_unsigned(
      "--keepalive-requests", text_of(parsed, "keepalive-requests"), 0, 1'000'000'000));
  config.header_timeout_ms = parse_duration_ms("--header-timeout", text_of(parsed, "header-timeout"));
  config.shutdown_timeout_ms =
      parse_duration_ms("--shutdown-timeout", text_of(parsed, "shutdown-timeout"));
  config.drain_time_ms = parse_duration_ms("--drain-time", text_of(parsed, "drain-time"));
  config.send_timeout_ms = positive_duration_ms(parsed, "send-timeout");
  if (config.header_timeout_ms == 0) {
    fail("--header-timeout", "must be more than 0");
  }
  if (config.keepalive_timeout_ms == 0) {
    fail("--keepalive-timeout", "must be more than 0");
  }
  config.max_header_bytes = static_cast<uint32_t>(
      parse_unsigned("--max-header", text_of(parsed, "max-header"), 1024, 1 << 20));
  config.max_uri_bytes = static_cast<uint32_t>(
      parse_unsigned("--max-uri", text_of(parsed, "max-uri"), 256, config.max_header_bytes));
  config.max_header_count = static_cast<uint32_t>(
      parse_unsigned("--max-headers", text_of(parsed, "max-headers"), 1, 10'000));
}

// Connections and the cache share the descriptor budget (fd_share_per_worker).
void read_capacity_flags(const cxxopts::ParseResult& parsed, Config& config) {
  uint32_t max_connections = static_cast<uint32_t>(
      parse_unsigned("--max-connections", text_of(parsed, "max-connections"), 0, 1'000'000));
  config.pipe_size_bytes = static_cast<uint32_t>(
      parse_unsigned("--pipe-size", text_of(parsed, "pipe-size"), 4096, 1 << 20));
  auto max_pipes = static_cast<uint32_t>(
      parse_unsigned("--max-pipes", text_of(parsed, "max-pipes"), 0, most_pipes_per_worker));
  PipeBudgetInputs budget{pipe_user_budget_bytes(), descriptor_limit(), config.workers,
                          config.pipe_size_bytes};
  config.pipes_per_worker = max_pipes != 0 ? max_pipes : pipes_per_worker(budget);
  config.grown_pipes_per_worker = grown_pipes_per_worker(budget);
  uint64_t fd_share = fd_share_per_worker(config.workers, config.pipes_per_worker);
  config.max_connections = max_connections != 0
                               ? max_connections
                               : static_cast<uint32_t>(std::clamp<uint64_t>(fd_share, 16, 1'000'000));
  config.cache_entries = static_cast<uint32_t>(std::min<uint64_t>(
      parse_unsigned("--cache-entries", text_of(parsed, "cache-entries"), 0, 10'000'000), fd_share));
  config.cache_valid_ms = parse_duration_ms("--cache-valid", text_of(parsed, "cache-valid"));
  config.cache_idle_ms = parse_duration_ms("--cache-idle", text_of(parsed, "cache-idle"));
  config.cache_body_max_bytes = static_cast<uint32_t>(
      parse_unsigned("--cache-body-max", text_of(parsed, "cache-body-max"), 0, 16u << 20));
  config.cache_body_total_bytes =
      parse_unsigned("--cache-body-bytes", text_of(parsed, "cache-body-bytes"), 0, 1ull << 40);
  config.max_ranges =
      static_cast<uint32_t>(parse_unsigned("--max-ranges", text_of(parsed, "max-ranges"), 1, 32));
  config.io_threads =
      static_cast<uint32_t>(parse_unsigned("--io-threads", text_of(parsed, "io-threads"), 1, 4096));
}

// The files themselves are read at start (src/tls/context_set.h), which
// names the flag of one that cannot be used.
void read_tls_flags(const cxxopts::ParseResult& parsed, Config& config) {
  auto path = [&](const char* name) {
    if (parsed.count(name) == 0) {
      return std::string();
    }
    std::string text = text_of(parsed, name);
    if (text.empty()) {
      fail(std::string("--") + name, "empty: give a path");
    }
    return std::filesystem::absolute(text).lexically_normal().string();
  };
  config.tls_cert = path("tls-cert");
  config.tls_key = path("tls-key");
  config.tls_dir = path("tls-dir");
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    fail(config.tls_cert.empty() ? "--tls-cert" : "--tls-key",
         "missing: --tls-cert and --tls-key go together");
  }
  if (!config.listen_tls.empty() && config.tls_cert.empty()) {
    fail("--tls-cert", "missing: --listen-tls needs --tls-cert and --tls-key");
  }
  if (!config.tls_dir.empty() && config.tls_cert.empty()) {
    fail("--tls-dir", "needs --tls-cert and --tls-key: the pair for clients without a matching name");
  }
  std::string ktls = text_of(parsed, "ktls");
  if (ktls != "auto" && ktls != "off") {
    fail("--ktls", "'" + ktls + "' is not auto or off");
  }
  config.ktls = ktls == "auto";
  config.tls_handshake_timeout_ms = positive_duration_ms(parsed, "tls-handshake-timeout");
}

void read_log_flags(const cxxopts::ParseResult& parsed, Config& config) {
  config.access_log = text_of(parsed, "access-log");
  if (config.access_log.empty()) {
    fail("--access-log", "empty: give a path, - for stdout, or off");
  }
  std::string log_format = text_of(parsed, "log-format");
  if (log_format != "combined" && log_format != "common") {
    fail("--log-format", "'" + log_format + "' is not combined or common");
  }
  config.log_combined = log_format == "combined";
  config.log_flush_ms = parse_duration_ms("--log-flush", text_of(parsed, "log-flush"));
  std::string level = text_of(parsed, "log-level");
  if (level == "error") {
    config.log_level = 0;
  } else if (level == "warn") {
    config.log_level = 1;
  } else if (level == "info") {
    config.log_level = 2;
  } else {
    fail("--log-level", "'" + level + "' is not error, warn or info");
  }
}

std::vector<ContentCoding> read_codings(const std::string& codings) {
  std::vector<ContentCoding> result;
  if (codings == "off") {
    return result;
  }
  for (const std::string& name : split_list(codings)) {
    ContentCoding coding = name == "br"     ? ContentCoding::br
                           : name == "zstd" ? ContentCoding::zstd
                           : name == "gzip" ? ContentCoding::gzip
                                            : (fail("--precompressed", "'" + name +
                                                    "' is not br, zstd or gzip (or off)"),
                                               ContentCoding::br);
    if (std::find(result.begin(), result.end(), coding) != result.end()) {
      fail("--precompressed", "'" + name + "' is listed twice");
    }
    result.push_back(coding);
  }
  return result;
}

void read_site_flags(const cxxopts::ParseResult& parsed, Config& config) {
  if (parsed.count("header")) {
    for (const std::string& rule : parsed["header"].as<std::vector<std::string>>()) {
      config.header_rules.headers.push_back(parse_header_rule(rule));
    }
  }
  if (parsed.count("expires")) {
    for (const std::string& rule : parsed["expires"].as<std::vector<std::string>>()) {
      config.header_rules.expires.push_back(parse_expires_rule(rule));
    }
  }
  config.precompressed = read_codings(text_of(parsed, "precompressed"));
  config.vhosts = parsed.count("vhosts") > 0;
  config.metrics_path = parsed["metrics-path"].as<std::string>();
  config.health_path = parsed["health-path"].as<std::string>();
  for (auto [flag, path] : {std::pair<std::string_view, const std::string*>{"--metrics-path", &config.metrics_path},
                            {"--health-path", &config.health_path}}) {
    if (!path->empty() && (path->front() != '/' || path->find_first_of("?# ") != std::string::npos)) {
      fail(flag, "'" + *path + "' must be a path starting with /");
    }
  }
  config.metrics_allow = AddressFilter::parse("--metrics-allow", parsed["metrics-allow"].as<std::string>());
  config.allow_dotfiles = parsed.count("allow-dotfiles") > 0;
  config.no_symlinks = parsed.count("no-symlinks") > 0;
  config.mime_types_path = parsed["mime-types"].as<std::string>();
  // The default file may be absent (the built-in table serves then); a file
  // named on the command line must be readable.
  if (parsed.count("mime-types") && access(config.mime_types_path.c_str(), R_OK) != 0) {
    fail("--mime-types", "'" + config.mime_types_path + "': " + std::strerror(errno));
  }
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv) {
  Config defaults;
  cxxopts::Options options("ringhttpd", "ringhttpd " RINGHTTPD_VERSION
                                        " - static HTTP/1.1 origin server on io_uring");
  declare_serving_options(options, defaults);
  declare_content_options(options, defaults);
  cxxopts::ParseResult parsed;
  try {
    parsed = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& error) {
    throw ConfigError(error.what());
  }
  CommandLine result;
  if (parsed.count("help")) {
    result.exit_now = true;
    result.output = options.help();
    return result;
  }
  if (parsed.count("version")) {
    result.exit_now = true;
    result.version_requested = true;
    result.output = "ringhttpd " RINGHTTPD_VERSION "\n";
    return result;
  }
  if (!parsed.unmatched().empty()) {
    throw ConfigError("unexpected argument '" + parsed.unmatched().front() +
                      "' (flags start with --; see --help)");
  }

  result.check_only = parsed.count("check") > 0;
  read_connection_flags(parsed, result.config);
  read_capacity_flags(parsed, result.config);
  read_tls_flags(parsed, result.config);
  read_log_flags(parsed, result.config);
  read_site_flags(parsed, result.config);
  return result;
}

}  // namespace ringhttpd
