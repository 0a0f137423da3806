#pragma once
// The process: checks io_uring, opens the docroot and listeners, starts one
// worker thread per --workers, and turns signals into a graceful stop.

#include "conf/config.h"

namespace ringhttpd {

// Returns the process exit status: 0 after a graceful stop, 1 when the
// server cannot start (the reason is printed as one line on stderr).
int run_server(const Config& config);

// --check: everything start-up verifies short of listening (io_uring and its
// opcodes, the docroot, the access log). Prints one line; 0 when all is well.
int check_configuration(const Config& config);

}  // namespace ringhttpd
