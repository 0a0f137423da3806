#include "src/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <latch>
#include <memory>
#include <thread>
#include <utility>

#include "conf/mime_types.h"
#include "src/docroot.h"
#include "src/listener.h"
#include "src/op.h"
#include "src/log.h"
#include "src/service.h"
#include "src/tls_contexts.h"
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
  probe.require_opcodes(required_opcodes());
}

// The access log target: "-" is stdout; a FIFO is opened read-write, which
// never blocks at open and never fails with EPIPE when its reader restarts;
// anything else is a file opened for appending. -1 with errno on failure.
int open_access_log(const std::string& path) {
  if (path == "-") {
    return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      fcntl(fd, F_SETPIPE_SZ, 1 << 20);  // room for bursts while the reader catches up
    }
    return fd;
  }
  return open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

// Gives each worker its own descriptor of the log; a worker takes it
// between two writes. One the worker never took is closed here.
void hand_out_log(int fd, std::vector<std::atomic<int>>& slots) {
  for (std::atomic<int>& slot : slots) {
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int untaken = slot.exchange(own);
    if (untaken >= 0) {
      close(untaken);
    }
  }
}

struct Supervision {
  const Config& config;
  const sigset_t& signals;
  DocrootSource& docroot;
  VhostTable& vhosts;
  std::atomic<uint64_t>& cache_generation;
  std::vector<std::atomic<int>>& log_slots;
  const WorkerStats* stats;
  ServiceNotifier& notifier;
  TlsContexts* tls;  // null without TLS
};

int64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
}

void reopen_access_log(const Config& config, std::vector<std::atomic<int>>& log_slots) {
  if (config.access_log == "off" || config.access_log == "-") {
    return;
  }
  // logrotate has renamed the file: open the path afresh.
  int log_fd = open_access_log(config.access_log);
  if (log_fd < 0) {
    log_error("ringhttpd: --access-log: cannot reopen '%s': %s; still writing the old file",
              config.access_log.c_str(), strerror(errno));
    return;
  }
  hand_out_log(log_fd, log_slots);
  close(log_fd);
  log_info("ringhttpd: access log reopened");
}

// The watchdog is fed only while every worker's ring is ticking: a stuck
// ring stops the pings, and systemd restarts the service.
bool every_worker_alive(const Supervision& s, int64_t now_ms) {
  auto allowed_ms = static_cast<int64_t>(std::max<uint64_t>(s.notifier.watchdog_interval_us() / 1000, 3000));
  for (unsigned i = 0; i < s.config.workers; ++i) {
    if (now_ms - s.stats[i].heartbeat_ms.load(std::memory_order_relaxed) > allowed_ms) {
      return false;
    }
  }
  return true;
}

std::string status_line(const Supervision& s) {
  uint64_t requests = 0;
  uint64_t connections = 0;
  for (unsigned i = 0; i < s.config.workers; ++i) {
    requests += s.stats[i].requests.load(std::memory_order_relaxed);
    connections += s.stats[i].connections.load(std::memory_order_relaxed);
  }
  return std::to_string(connections) + " connections, " + std::to_string(requests) + " requests served";
}

// A deploy swapped the docroot (SIGHUP, or the path names another
// directory now): workers take the new one on their tick, and with
// --vhosts the sites are listed from it.
void docroot_changed(Supervision& s) {
  if (s.config.vhosts) {
    s.vhosts.rescan(s.docroot.current()->fd);
  }
  log_info("ringhttpd: docroot %s opened anew", s.docroot.path().c_str());
}

// Once a second: the docroot check, the vhost listing, the watchdog, STATUS.
struct Periodic {
  int64_t next_rescan_ms = 0;
  int64_t next_watchdog_ms = 0;
  int64_t next_status_ms = 0;

  void run(Supervision& s, int64_t now_ms) {
    const Config& config = s.config;
    if (s.docroot.refresh(false)) {
      docroot_changed(s);
    } else if (config.vhosts && now_ms >= next_rescan_ms) {
      s.vhosts.rescan(s.docroot.current()->fd);
      next_rescan_ms = now_ms + std::max<uint32_t>(config.cache_valid_ms, 1000);
    }
    if (s.notifier.watchdog_interval_us() > 0 && now_ms >= next_watchdog_ms &&
        every_worker_alive(s, now_ms)) {
      s.notifier.watchdog();
      next_watchdog_ms = now_ms + static_cast<int64_t>(s.notifier.watchdog_interval_us() / 2000);
    }
    if (now_ms >= next_status_ms) {
      s.notifier.status(status_line(s));
      next_status_ms = now_ms + 5000;
    }
  }
};

// SIGHUP reloads what can be: the docroot is opened anew (a symlink
// resolved again), every worker empties its cache on its next tick (files
// are opened afresh), vhosts are listed again, logs reopen.
void reload(Supervision& s) {
  s.docroot.refresh(true);
  s.cache_generation.fetch_add(1, std::memory_order_relaxed);
  docroot_changed(s);
  if (s.tls != nullptr) {
    // New connections take the new pairs on each worker's next tick; a
    // bad pair keeps the old ones, and the line says why.
    std::string line = s.tls->reload();
    if (line.find("keeping") != std::string::npos) {
      log_error("%s", line.c_str());
    } else {
      log_info("%s", line.c_str());
    }
  }
  log_info("ringhttpd: reloading: docroot reopened, caches flushed, logs reopened");
}

// The main thread's life after start: signals, and the periodic duties.
// Returns on SIGTERM/SIGINT.
void supervise(Supervision& s) {
  timespec one_second{1, 0};
  Periodic periodic;
  periodic.next_rescan_ms = monotonic_ms() + std::max<uint32_t>(s.config.cache_valid_ms, 1000);
  for (;;) {
    siginfo_t info{};
    int signal_number = sigtimedwait(&s.signals, &info, &one_second);
    periodic.run(s, monotonic_ms());
    if (signal_number == SIGTERM || signal_number == SIGINT) {
      return;
    }
    if (signal_number == SIGHUP) {
      reload(s);
    }
    if (signal_number == SIGUSR1 || signal_number == SIGHUP) {
      reopen_access_log(s.config, s.log_slots);
    }
  }
}

}  // namespace

int check_configuration(const Config& config) {
  try {
    check_io_uring();
  } catch (const uring::RingUnavailable& error) {
    log_error("ringhttpd: %s", error.what());
    return 1;
  }
  int root_fd = open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    log_error("ringhttpd: --root: '%s': %s", config.root.c_str(), strerror(errno));
    return 1;
  }
  close(root_fd);
  if (config.access_log != "off") {
    int log_fd = open_access_log(config.access_log);
    if (log_fd < 0) {
      log_error("ringhttpd: --access-log: '%s': %s", config.access_log.c_str(), strerror(errno));
      return 2;
    }
    close(log_fd);
  }
  std::string tls_line;
  if (!config.tls_cert.empty()) {
    TlsContexts tls(config);
    try {
      tls.load();
    } catch (const tls::CredentialError& error) {
      log_error("%s", error.what());
      return 2;
    } catch (const std::exception& error) {
      log_error("ringhttpd: %s", error.what());
      return 1;
    }
    tls_line = "; " + tls.describe();
  }
  std::printf("ringhttpd: configuration OK: root %s, %u workers, %zu listen addresses%s\n",
              config.root.c_str(), config.workers, config.listen.size() + config.listen_tls.size(),
              tls_line.c_str());
  return 0;
}

namespace {

// What the process opens before any worker starts; closed when it ends,
// after the workers have joined.
struct ProcessResources {
  explicit ProcessResources(const std::string& root) : docroot(root) {}
  DocrootSource docroot;
  ListenerSet listeners;
  std::vector<std::atomic<int>> log_slots;
  int stop_fd = -1;  // becomes readable when the workers are to stop

  ProcessResources(const ProcessResources&) = delete;
  ProcessResources& operator=(const ProcessResources&) = delete;
  ~ProcessResources() {
    close_listeners(listeners);
    for (std::atomic<int>& slot : log_slots) {
      if (int untaken = slot.exchange(-1); untaken >= 0) {
        close(untaken);
      }
    }
    if (stop_fd >= 0) {
      close(stop_fd);
    }
  }
};

// The docroot, the listeners and the access log: 0, or the exit status
// when one cannot be opened (the reason said in one line).
int open_resources(const Config& config, ProcessResources& resources) {
  if (!resources.docroot.open_initial()) {
    log_error("ringhttpd: --root: '%s': %s", config.root.c_str(), strerror(errno));
    return 1;
  }
  try {
    // Socket-activated (LISTEN_FDS): the inherited sockets, and --listen is
    // not used; a restart then refuses no connection attempt, since systemd
    // holds the listener meanwhile.
    resources.listeners = inherit_listeners(config.workers);
    if (!resources.listeners.inherited) {
      resources.listeners = open_listeners(config.listen, config.workers, config.listen_tls);
    }
  } catch (const std::exception& error) {
    log_error("ringhttpd: %s", error.what());
    return 1;
  }
  resources.log_slots = std::vector<std::atomic<int>>(config.workers);
  for (std::atomic<int>& slot : resources.log_slots) {
    slot = -1;
  }
  if (config.access_log != "off") {
    int log_fd = open_access_log(config.access_log);
    if (log_fd < 0) {
      log_error("ringhttpd: --access-log: '%s': %s", config.access_log.c_str(), strerror(errno));
      return 2;
    }
    hand_out_log(log_fd, resources.log_slots);
    close(log_fd);
  }
  resources.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return 0;
}

void announce(const Config& config, const ListenerSet& listeners, const TlsContexts* tls,
              ServiceNotifier& notifier) {
  std::string listening;
  for (size_t i = 0; i < listeners.bound_addresses.size(); ++i) {
    const std::string& address = listeners.bound_addresses[i];
    const char* scheme = listeners.tls[i] ? "https" : "http";
    std::printf("ringhttpd: listening on %s://%s/ (%u workers, root %s)\n", scheme, address.c_str(),
                config.workers, config.root.c_str());
    listening += (listening.empty() ? "" : ", ") + address + (listeners.tls[i] ? " (TLS)" : "");
  }
  if (tls != nullptr) {
    std::printf("ringhttpd: TLS: %s\n", tls->describe().c_str());
  }
  std::fflush(stdout);
  // READY=1 only now: every worker has its ring and its listener.
  notifier.ready("listening on " + listening);
}

// Starts one thread per worker, serves until SIGTERM/SIGINT, stops them.
int serve(Supervision& supervision, const WorkerContext& context, ProcessResources& resources,
          WorkerStats* stats) {
  const Config& config = supervision.config;
  std::latch ready(config.workers);
  std::atomic<bool> start_failed{false};
  std::vector<std::thread> threads;
  for (unsigned index = 0; index < config.workers; ++index) {
    // A worker's own listeners (its SO_REUSEPORT share) are its to close
    // when it stops accepting; inherited ones are shared, and closed here.
    std::vector<int> listeners = resources.listeners.inherited
                                     ? resources.listeners.sockets[index]
                                     : std::exchange(resources.listeners.sockets[index], {});
    threads.emplace_back([&, index, listeners = std::move(listeners)] {
      try {
        Worker worker(index, context, listeners, resources.log_slots[index], stats[index]);
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
  if (!start_failed) {
    announce(config, resources.listeners, supervision.tls, supervision.notifier);
    supervise(supervision);
    supervision.notifier.stopping();
  }
  uint64_t one = 1;
  if (write(resources.stop_fd, &one, sizeof one) != sizeof one) {
    log_error("ringhttpd: cannot signal the workers to stop: %s", strerror(errno));
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  return start_failed ? 1 : 0;
}

}  // namespace

int run_server(const Config& config) {
  log_threshold = static_cast<LogLevel>(config.log_level);
  // splice() to a socket the client closed raises SIGPIPE in the io-wq
  // thread doing it (MSG_NOSIGNAL covers only send); it would kill the
  // process (uring/KERNEL.md, "SIGPIPE from splice").
  signal(SIGPIPE, SIG_IGN);
  // A file size limit (ulimit -f) would kill the process at the access
  // log's limit; ignored, the write comes back short (then EFBIG), and the
  // log keeps what it could not write for later (src/access_log.h).
  signal(SIGXFSZ, SIG_IGN);
  try {
    check_io_uring();
  } catch (const uring::RingUnavailable& error) {
    log_error("ringhttpd: %s", error.what());
    return 1;
  }
  MimeTypes mime_types;
  mime_types.load_file(config.mime_types_path);  // absent: the built-in table serves
  ProcessResources resources(config.root);
  if (int status = open_resources(config, resources); status != 0) {
    return status;
  }
  bool any_tls = std::find(resources.listeners.tls.begin(), resources.listeners.tls.end(), true) !=
                 resources.listeners.tls.end();
  if (any_tls && config.tls_cert.empty()) {
    log_error("ringhttpd: --tls-cert: missing: a socket named https (FileDescriptorName=) speaks TLS");
    return 2;
  }
  if (!any_tls && !config.tls_cert.empty()) {
    log_error("ringhttpd: --tls-cert: given, but no listener speaks TLS (--listen-tls, or a socket "
              "named https)");
    return 2;
  }
  std::unique_ptr<TlsContexts> tls;
  if (any_tls) {
    tls = std::make_unique<TlsContexts>(config);
    try {
      tls->load();
    } catch (const tls::CredentialError& error) {
      log_error("%s", error.what());
      return 2;
    } catch (const std::exception& error) {
      log_error("ringhttpd: %s", error.what());
      return 1;
    }
  }
  std::atomic<uint64_t> cache_generation{0};
  VhostTable vhosts;
  if (config.vhosts) {
    vhosts.rescan(resources.docroot.current()->fd);
  }
  auto stats = std::make_unique<WorkerStats[]>(config.workers);
  WorkerContext context{&config,           &mime_types,      &resources.docroot,
                        resources.stop_fd, config.vhosts ? &vhosts : nullptr,
                        &cache_generation, stats.get(), resources.listeners.inherited,
                        resources.listeners.tls, tls.get()};
  // Signals go to this thread only, through sigtimedwait in supervise().
  sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ServiceNotifier notifier;
  Supervision supervision{config, signals, resources.docroot, vhosts, cache_generation, resources.log_slots,
                          stats.get(), notifier, tls.get()};
  return serve(supervision, context, resources, stats.get());
}

}  // namespace ringhttpd
