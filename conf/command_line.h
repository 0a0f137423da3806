#pragma once
// Command-line flags -> Config. Every flag is listed with its default by
// --help. A bad value throws ConfigError whose message names the flag and the
// value in one line; main() prints it and exits 2.

#include <stdexcept>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace ringhttpd {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CommandLine {
  Config config;
  bool exit_now = false;   // --help or --version: print `output`, exit 0
  bool version_requested = false;
  bool check_only = false;  // --check: validate, report, exit
  std::string output;
};

CommandLine parse_command_line(int argc, const char* const* argv);

// A whole number from min to max; ConfigError naming `flag` otherwise.
uint64_t parse_unsigned(std::string_view flag, std::string_view text, uint64_t min, uint64_t max);

// "15" (seconds), "15s", "500ms", "2m", "1h", "1d" -> milliseconds (the
// units of conf/duration.h), at most 24 hours.
// Throws ConfigError naming `flag` on a malformed or out-of-range value.
uint32_t parse_duration_ms(std::string_view flag, std::string_view text);

// "127.0.0.1:8080", "[::1]:8080", ":8080" (all IPv4), "8080", "localhost:80".
// Numeric addresses only: a listener never waits on DNS.
ListenAddress parse_listen_address(std::string_view text, std::string_view flag = "--listen");

}  // namespace ringhttpd
