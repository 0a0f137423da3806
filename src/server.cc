#include "src/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <latch>
#include <thread>

#include "conf/mime_types.h"
#include "src/listener.h"
#include "src/log.h"
#include "src/worker.h"

namespace ringhttpd {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    sigaddset(&set, signal);
  }
  return set;
}

// Fails fast, in one line, where io_uring cannot work at all (seccomp,
// kernel.io_uring_disabled, an old kernel), before anything else starts.
void check_io_uring() {
  uring::RingOptions tiny;
  tiny.sq_entries = 8;
  tiny.cq_entries = 16;
  uring::Ring probe(tiny);
  probe.require_opcodes({IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_SPLICE,
                         IORING_OP_OPENAT2, IORING_OP_STATX, IORING_OP_CLOSE,
                         IORING_OP_SHUTDOWN, IORING_OP_TIMEOUT, IORING_OP_POLL_ADD,
                         IORING_OP_ASYNC_CANCEL});
}

}  // namespace

int run_server(const Config& config) {
  // splice() to a socket the client closed raises SIGPIPE in the io-wq
  // thread doing it (MSG_NOSIGNAL covers only send); it would kill the process.
  signal(SIGPIPE, SIG_IGN);

  try {
    check_io_uring();
  } catch (const uring::RingUnavailable& error) {
    log_error("ringhttpd: %s", error.what());
    return 1;
  }

  MimeTypes mime_types;
  mime_types.load_file(config.mime_types_path);  // absent: the built-in table serves

  int root_fd = open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    log_error("ringhttpd: --root: '%s': %s", config.root.c_str(), strerror(errno));
    return 1;
  }

  ListenerSet listeners;
  try {
    listeners = open_listeners(config.listen, config.workers);
  } catch (const std::exception& error) {
    log_error("ringhttpd: %s", error.what());
    close(root_fd);
    return 1;
  }

  int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  WorkerContext context{&config, &mime_types, root_fd, stop_fd};

  // Signals go to this thread only, through sigwaitinfo below.
  sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::latch ready(config.workers);
  std::atomic<bool> start_failed{false};
  std::vector<std::thread> threads;
  for (unsigned index = 0; index < config.workers; ++index) {
    threads.emplace_back([&, index] {
      try {
        Worker worker(index, context, listeners.sockets[index]);
        ready.count_down();
        worker.run();
      } catch (const std::exception& error) {
        log_error("ringhttpd: worker %u: %s", index, error.what());
        start_failed = true;
        ready.count_down();
      }
    });
  }
  ready.wait();

  int exit_status = 0;
  if (start_failed) {
    exit_status = 1;
  } else {
    for (const std::string& address : listeners.bound_addresses) {
      std::printf("ringhttpd: listening on http://%s/ (%u workers, root %s)\n", address.c_str(),
                  config.workers, config.root.c_str());
    }
    std::fflush(stdout);
    for (;;) {
      siginfo_t info{};
      int signal_number = sigwaitinfo(&signals, &info);
      if (signal_number == SIGTERM || signal_number == SIGINT) {
        break;
      }
      // SIGHUP and SIGUSR1 must not kill the server; reopening logs and
      // flushing caches arrive with the access log and the file cache.
    }
  }

  uint64_t one = 1;
  if (write(stop_fd, &one, sizeof one) != sizeof one) {
    log_error("ringhttpd: cannot signal the workers to stop: %s", strerror(errno));
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  close_listeners(listeners);
  close(stop_fd);
  close(root_fd);
  return exit_status;
}

}  // namespace ringhttpd
