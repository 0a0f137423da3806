// ringhttpd: a static HTTP/1.1 origin server on io_uring.

#include <cstdio>

#include "conf/command_line.h"
#include "src/log.h"
#include "src/server.h"

#ifdef RINGHTTPD_MIMALLOC
#include <mimalloc.h>
#endif

int main(int argc, char** argv) {
#ifdef RINGHTTPD_MIMALLOC
  // Memory follows load down: what a peak made, the pools free on the tick
  // (src/exchange_pool.h), and freed pages go back to the kernel at once.
  // With mimalloc's default delay they are decommitted only at later
  // allocator activity, which an idle server never has: measured, 5,000
  // one-byte connections closed left RSS at 30 MB (baseline 7.8); with no
  // delay, 10.3 MB. The steady state frees nothing, so this costs nothing there.
  mi_option_set(mi_option_decommit_delay, 0);
#endif
  ringhttpd::log_detect_journal();
  ringhttpd::CommandLine command_line;
  try {
    command_line = ringhttpd::parse_command_line(argc, argv);
  } catch (const ringhttpd::ConfigError& error) {
    log_error("ringhttpd: %s", error.what());
    return 2;
  }
  if (command_line.exit_now) {
    std::fputs(command_line.output.c_str(), stdout);
#ifdef RINGHTTPD_MIMALLOC
    if (command_line.version_requested) {
      std::printf("allocator: mimalloc %d\n", mi_version());
    }
#endif
    return 0;
  }
  if (command_line.check_only) {
    return ringhttpd::check_configuration(command_line.config);
  }
  return ringhttpd::run_server(command_line.config);
}
