#include "conf/command_line.h"
#include "conf/pipe_budget.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

namespace ringhttpd {
namespace {

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ringhttpd");
  std::vector<const char*> argv;
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(CommandLine, Defaults) {
  Config config = parse({"--root", "/tmp"}).config;
  EXPECT_EQ(config.root, "/tmp");
  ASSERT_EQ(config.listen.size(), 1u);
  EXPECT_EQ(config.listen[0].text, "0.0.0.0:8080");
  EXPECT_GE(config.workers, 1u);
  EXPECT_EQ(config.index_files, (std::vector<std::string>{"index.html", "index.htm"}));
  EXPECT_EQ(config.keepalive_timeout_ms, 15000u);
  EXPECT_EQ(config.header_timeout_ms, 10000u);
  EXPECT_EQ(config.keepalive_requests, 1000u);
  EXPECT_GT(config.max_connections, 0u);
}

TEST(CommandLine, ParsesFlags) {
  Config config = parse({"--root", "/tmp", "--listen", "127.0.0.1:0", "--listen", "[::1]:81",
                         "--workers", "3", "--index", "default.htm", "--keepalive-timeout",
                         "500ms", "--header-timeout", "2m", "--max-connections", "77",
                         "--keepalive-requests", "0"})
                      .config;
  ASSERT_EQ(config.listen.size(), 2u);
  EXPECT_EQ(config.listen[1].address.ss_family, AF_INET6);
  EXPECT_EQ(config.workers, 3u);
  EXPECT_EQ(config.index_files, (std::vector<std::string>{"default.htm"}));
  EXPECT_EQ(config.keepalive_timeout_ms, 500u);
  EXPECT_EQ(config.header_timeout_ms, 120000u);
  EXPECT_EQ(config.max_connections, 77u);
  EXPECT_EQ(config.keepalive_requests, 0u);  // no limit
}

TEST(CommandLine, RepeatableRulesKeepTheirCommas) {
  Config config = parse({"--root", "/tmp", "--header", "/a/: Cache-Control: public, max-age=60",
                         "--header", "*.js: X-A: 1", "--expires", "/=1d", "--listen",
                         "127.0.0.1:1,127.0.0.1:2"})
                      .config;
  ASSERT_EQ(config.header_rules.headers.size(), 2u);
  EXPECT_EQ(config.header_rules.headers[0].value, "public, max-age=60");
  EXPECT_EQ(config.header_rules.expires.at(0).max_age_seconds, 86400u);
  EXPECT_EQ(config.listen.size(), 2u);  // --listen still takes a comma list
}

TEST(CommandLine, HelpListsEveryFlagWithDefaults) {
  CommandLine result = parse({"--help"});
  EXPECT_TRUE(result.exit_now);
  for (const char* flag : {"--root", "--listen", "--workers", "--index", "--keepalive-timeout",
                           "--header-timeout", "--max-uri", "--max-header", "--version"}) {
    EXPECT_NE(result.output.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(result.output.find("(default: 15s)"), std::string::npos);
  EXPECT_FALSE(result.version_requested);
  EXPECT_TRUE(parse({"--version"}).exit_now);
  EXPECT_TRUE(parse({"--version"}).version_requested);
}

TEST(CommandLine, BadValuesNameTheFlag) {
  EXPECT_EQ(error_of({}).rfind("--root: missing", 0), 0u) << error_of({});
  EXPECT_EQ(error_of({"--root", "/nonexistent-dir"}),
            "--root: '/nonexistent-dir': No such file or directory");
  EXPECT_EQ(error_of({"--root", "/etc/hostname"}), "--root: '/etc/hostname' is not a directory");
  EXPECT_EQ(error_of({"--root", "/tmp", "--listen", "127.0.0.1:70000"}),
            "--listen: '70000' is out of range (0-65535)");
  EXPECT_EQ(error_of({"--root", "/tmp", "--listen", "example.com:80"}),
            "--listen: 'example.com' is not a numeric IPv4 or IPv6 address");
  EXPECT_EQ(error_of({"--root", "/tmp", "--listen", "::1:80"}),
            "--listen: '::1:80': write IPv6 addresses as [ADDRESS]:PORT");
  EXPECT_EQ(error_of({"--root", "/tmp", "--workers", "0"}), "--workers: '0' is out of range (1-1024)");
  EXPECT_EQ(error_of({"--root", "/tmp", "--workers", "two"}), "--workers: 'two' is not a whole number");
  EXPECT_EQ(error_of({"--root", "/tmp", "--keepalive-timeout", "5 minutes"}),
            "--keepalive-timeout: '5 minutes' is not a duration (examples: 15, 15s, 500ms, 2m)");
  EXPECT_EQ(error_of({"--root", "/tmp", "--keepalive-requests", "many"}),
            "--keepalive-requests: 'many' is not a whole number");
  EXPECT_EQ(error_of({"--root", "/tmp", "--index", "../x"}), "--index: '../x' is not a plain file name");
  EXPECT_EQ(error_of({"--root", "/tmp", "--max-uri", "100000"}),
            "--max-uri: '100000' is out of range (256-16384)");
  EXPECT_EQ(error_of({"--root", "/tmp", "--mime-types", "/nonexistent/mime.types"}),
            "--mime-types: '/nonexistent/mime.types': No such file or directory");
  EXPECT_NE(error_of({"--root", "/tmp", "--no-such-flag"}).find("no-such-flag"), std::string::npos);
  EXPECT_NE(error_of({"--root", "/tmp", "stray"}).find("stray"), std::string::npos);
}

TEST(CommandLine, ListenForms) {
  ListenAddress any = parse_listen_address("8080");
  EXPECT_EQ(any.address.ss_family, AF_INET);
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in&>(any.address).sin_port), 8080);
  ListenAddress colon = parse_listen_address(":81");
  EXPECT_EQ(reinterpret_cast<sockaddr_in&>(colon.address).sin_addr.s_addr, htonl(INADDR_ANY));
  ListenAddress local = parse_listen_address("localhost:82");
  EXPECT_EQ(reinterpret_cast<sockaddr_in&>(local.address).sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  ListenAddress v6 = parse_listen_address("[::]:83");
  EXPECT_EQ(v6.address.ss_family, AF_INET6);
  EXPECT_THROW(parse_listen_address("[::1]"), ConfigError);
  EXPECT_THROW(parse_listen_address("1.2.3.4:"), ConfigError);
}

TEST(CommandLine, Durations) {
  EXPECT_EQ(parse_duration_ms("--x", "15"), 15000u);
  EXPECT_EQ(parse_duration_ms("--x", "15s"), 15000u);
  EXPECT_EQ(parse_duration_ms("--x", "250ms"), 250u);
  EXPECT_EQ(parse_duration_ms("--x", "1h"), 3600000u);
  EXPECT_THROW(parse_duration_ms("--x", "25h"), ConfigError);
  EXPECT_THROW(parse_duration_ms("--x", "s"), ConfigError);
  EXPECT_THROW(parse_duration_ms("--x", "-1"), ConfigError);
  EXPECT_THROW(parse_duration_ms("--x", "1.5s"), ConfigError);
  // The units of --expires too: one parser for every flag.
  EXPECT_EQ(parse_duration_ms("--x", "1d"), 86400000u);
  EXPECT_EQ(error_of({"--root", "/tmp", "--cache-valid", "2d"}), "--cache-valid: '2d' is longer than 24h");
  EXPECT_EQ(parse({"--root", "/tmp", "--cache-valid", "1d"}).config.cache_valid_ms, 86400000u);
  EXPECT_THROW(parse_duration_ms("--x", "99999999999999999999999h"), ConfigError);
}

TEST(CommandLine, ListsReadAsEveryListIs) {
  // Comma lists are read like HTTP #lists: spaces around items and empty
  // items do not count.
  Config config = parse({"--root", "/tmp", "--listen", "127.0.0.1:1, 127.0.0.1:2,", "--index",
                         " a.html ,b.html", "--precompressed", "gzip, br",
                         "--metrics-allow", "10.0.0.0/8, ::1"})
                      .config;
  EXPECT_EQ(config.listen.size(), 2u);
  EXPECT_EQ(config.index_files, (std::vector<std::string>{"a.html", "b.html"}));
  EXPECT_EQ(config.precompressed, (std::vector<ContentCoding>{ContentCoding::gzip, ContentCoding::br}));
  uint8_t ten[4] = {10, 9, 8, 7};
  EXPECT_TRUE(config.metrics_allow.allows(AF_INET, ten));
}

}  // namespace
}  // namespace ringhttpd

namespace ringhttpd {
namespace {

TEST(PipeBudget, BoundByPipePagesAndDescriptorsSharedByTheWorkers) {
  constexpr uint64_t mib = 1 << 20;
  // 64 MiB of pipe pages, 256 KiB pipes, descriptors plenty: three
  // quarters of the pages is 192 pipes, more than one worker holds; 12
  // each for 16 workers.
  EXPECT_EQ(pipes_per_worker({64 * mib, 1'000'000, 1, 256 * 1024}), most_pipes_per_worker);
  EXPECT_EQ(pipes_per_worker({64 * mib, 1'000'000, 4, 256 * 1024}), 48u);
  EXPECT_EQ(pipes_per_worker({64 * mib, 1'000'000, 16, 256 * 1024}), 12u);
  // Descriptors scarce (ulimit -n 1024): an eighth of them, two per pipe.
  EXPECT_EQ(pipes_per_worker({64 * mib, 1024, 1, 256 * 1024}), 64u);
  EXPECT_EQ(pipes_per_worker({64 * mib, 1024, 2, 256 * 1024}), 32u);
  // Unlimited pages, small pipes: never beyond the most a worker holds.
  EXPECT_EQ(pipes_per_worker({0, 1'000'000, 1, 65536}), most_pipes_per_worker);
  EXPECT_EQ(pipes_per_worker({64 * mib, 1'000'000, 1, 4096}), most_pipes_per_worker);
  // However tight, a pool has a few.
  EXPECT_EQ(pipes_per_worker({64 * mib, 64, 64, 1 << 20}), fewest_pipes_per_worker);
}

TEST(PipeBudget, EnlargedPipesTakeTheLastQuarterOfThePages) {
  constexpr uint64_t mib = 1 << 20;
  // 16 MiB of 64 in 1 MiB pipes: 16 for one worker, 4 each for four.
  EXPECT_EQ(grown_pipes_per_worker({64 * mib, 1'000'000, 1, 256 * 1024}), 16u);
  EXPECT_EQ(grown_pipes_per_worker({64 * mib, 1'000'000, 4, 256 * 1024}), 4u);
  EXPECT_EQ(grown_pipes_per_worker({0, 1'000'000, 1, 256 * 1024}), most_grown_pipes_per_worker);
  // Pipes already that large are never enlarged.
  EXPECT_EQ(grown_pipes_per_worker({64 * mib, 1'000'000, 1, grown_pipe_bytes}), 0u);
  EXPECT_EQ(parse({"--root", "/tmp", "--pipe-size", "1048576"}).config.grown_pipes_per_worker, 0u);
}

TEST(PipeBudget, FlagSetsTheBoundAndPipesComeOutOfTheDescriptorShare) {
  Config few = parse({"--root", "/tmp", "--workers", "1", "--max-pipes", "2"}).config;
  Config many = parse({"--root", "/tmp", "--workers", "1", "--max-pipes", "128"}).config;
  EXPECT_EQ(few.pipes_per_worker, 2u);
  EXPECT_EQ(many.pipes_per_worker, 128u);
  // 126 more pipes are 252 descriptors fewer for connections and the cache.
  EXPECT_EQ(few.max_connections - many.max_connections, 126u);
  EXPECT_GE(parse({"--root", "/tmp"}).config.pipes_per_worker, fewest_pipes_per_worker);
  EXPECT_EQ(error_of({"--root", "/tmp", "--max-pipes", "300"}),
            "--max-pipes: '300' is out of range (0-128)");
}

}  // namespace
}  // namespace ringhttpd

namespace ringhttpd {
namespace {

TEST(CommandLine, TlsFlags) {
  Config config = parse({"--root", "/tmp", "--listen-tls", "127.0.0.1:8443,[::1]:8443", "--tls-cert",
                         "/etc/c.pem", "--tls-key", "k.pem", "--tls-dir", "/etc/hosts.d", "--ktls", "off",
                         "--tls-handshake-timeout", "3s"})
                      .config;
  EXPECT_TRUE(config.listen.empty()) << "no cleartext listener unless asked for";
  ASSERT_EQ(config.listen_tls.size(), 2u);
  EXPECT_EQ(config.listen_tls[1].address.ss_family, AF_INET6);
  EXPECT_EQ(config.tls_cert, "/etc/c.pem");
  EXPECT_EQ(config.tls_key.front(), '/') << "made absolute: " << config.tls_key;
  EXPECT_EQ(config.tls_dir, "/etc/hosts.d");
  EXPECT_FALSE(config.ktls);
  EXPECT_EQ(config.tls_handshake_timeout_ms, 3000u);

  Config both = parse({"--root", "/tmp", "--listen", "127.0.0.1:80", "--listen-tls", "127.0.0.1:443",
                       "--tls-cert", "c", "--tls-key", "k"})
                    .config;
  EXPECT_EQ(both.listen.size(), 1u);
  EXPECT_EQ(both.listen_tls.size(), 1u);
  EXPECT_TRUE(both.ktls);
  EXPECT_EQ(both.tls_handshake_timeout_ms, 10000u);
}

TEST(CommandLine, TlsFlagsThatDoNotGoTogetherNameTheFlag) {
  EXPECT_EQ(error_of({"--root", "/tmp", "--listen-tls", "127.0.0.1:443"}),
            "--tls-cert: missing: --listen-tls needs --tls-cert and --tls-key");
  EXPECT_EQ(error_of({"--root", "/tmp", "--tls-cert", "c"}),
            "--tls-key: missing: --tls-cert and --tls-key go together");
  EXPECT_EQ(error_of({"--root", "/tmp", "--tls-key", "k"}),
            "--tls-cert: missing: --tls-cert and --tls-key go together");
  EXPECT_EQ(error_of({"--root", "/tmp", "--tls-dir", "/etc"}),
            "--tls-dir: needs --tls-cert and --tls-key: the pair for clients without a matching name");
  EXPECT_EQ(error_of({"--root", "/tmp", "--tls-cert", "c", "--tls-key", "k", "--ktls", "on"}),
            "--ktls: 'on' is not auto or off");
  EXPECT_EQ(error_of({"--root", "/tmp", "--tls-cert", "c", "--tls-key", "k", "--tls-handshake-timeout", "0"}),
            "--tls-handshake-timeout: must be more than 0");
  EXPECT_EQ(error_of({"--root", "/tmp", "--listen-tls", "example.com:443", "--tls-cert", "c", "--tls-key", "k"}),
            "--listen-tls: 'example.com' is not a numeric IPv4 or IPv6 address");
}

}  // namespace
}  // namespace ringhttpd
