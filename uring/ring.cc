#include "uring/ring.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace ringhttpd::uring {
namespace {

int try_setup(const RingOptions& options, unsigned flags, io_uring& ring) {
  io_uring_params params{};
  params.flags = flags | IORING_SETUP_CQSIZE;
  params.cq_entries = options.cq_entries;
  return io_uring_queue_init_params(options.sq_entries, &ring, &params);
}

std::string read_sysctl(const char* path) {
  std::ifstream file(path);
  std::string value;
  file >> value;
  return value;
}

}  // namespace

std::string explain_setup_error(int error) {
  std::string message = "io_uring is unavailable: io_uring_setup failed: ";
  message += std::strerror(error);
  if (error == EPERM || error == ENOSYS || error == EACCES) {
    std::string disabled = read_sysctl("/proc/sys/kernel/io_uring_disabled");
    if (!disabled.empty() && disabled != "0") {
      message += " (sysctl kernel.io_uring_disabled=" + disabled +
                 "; set it to 0, or to 1 and add this user to kernel.io_uring_group)";
    } else {
      message += " (a seccomp filter blocks io_uring, as Docker's default profile does;"
                 " run with a profile that allows io_uring_setup/enter/register)";
    }
  } else if (error == ENOMEM) {
    message += " (raise RLIMIT_MEMLOCK: LimitMEMLOCK= in the unit, ulimit -l in a shell)";
  }
  return message;
}

const char* opcode_name(int opcode) {
  switch (opcode) {
    case IORING_OP_ACCEPT: return "ACCEPT";
    case IORING_OP_RECV: return "RECV";
    case IORING_OP_SEND: return "SEND";
    case IORING_OP_SENDMSG: return "SENDMSG";
    case IORING_OP_SPLICE: return "SPLICE";
    case IORING_OP_OPENAT2: return "OPENAT2";
    case IORING_OP_STATX: return "STATX";
    case IORING_OP_CLOSE: return "CLOSE";
    case IORING_OP_SHUTDOWN: return "SHUTDOWN";
    case IORING_OP_TIMEOUT: return "TIMEOUT";
    case IORING_OP_POLL_ADD: return "POLL_ADD";
    case IORING_OP_ASYNC_CANCEL: return "ASYNC_CANCEL";
    case IORING_OP_READ: return "READ";
    case IORING_OP_WRITE: return "WRITE";
    default: return "an opcode";
  }
}

Ring::Ring(const RingOptions& options) {
  // DEFER_TASKRUN halves the CPU per request against no task-run flag
  // (uring/KERNEL.md, "Task-run flags"); it needs 6.1 and SINGLE_ISSUER.
  // COOP_TASKRUN (5.19) next.
  int result = try_setup(options, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, _ring);
  if (result == -EINVAL) {
    result = try_setup(options, IORING_SETUP_COOP_TASKRUN, _ring);
  }
  if (result == -EINVAL) {
    result = try_setup(options, 0, _ring);
  }
  if (result < 0) {
    throw RingUnavailable(explain_setup_error(-result));
  }
}

Ring::~Ring() { io_uring_queue_exit(&_ring); }

void Ring::require_opcodes(std::span<const int> opcodes) const {
  io_uring_probe* probe = io_uring_get_probe_ring(const_cast<io_uring*>(&_ring));
  if (probe == nullptr) {
    throw RingUnavailable("io_uring is unavailable: the kernel cannot list its opcodes (needs Linux >= 5.19)");
  }
  for (int opcode : opcodes) {
    if (!io_uring_opcode_supported(probe, opcode)) {
      io_uring_free_probe(probe);
      throw RingUnavailable(std::string("io_uring is unavailable: the kernel lacks IORING_OP_") +
                            opcode_name(opcode) + " (ringhttpd needs Linux >= 5.19)");
    }
  }
  io_uring_free_probe(probe);
}

io_uring_sqe* Ring::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&_ring);
  while (sqe == nullptr) {
    if (io_uring_submit(&_ring) < 0) {
      back_off();
    }
    sqe = io_uring_get_sqe(&_ring);
  }
  return sqe;
}

void Ring::back_off() {
  constexpr long first_us = 1000;
  constexpr long most_us = 100'000;
  _backoff_us = _backoff_us == 0 ? first_us : std::min(2 * _backoff_us, most_us);
  timespec pause{0, _backoff_us * 1000};
  nanosleep(&pause, nullptr);
}

void Ring::reserve(unsigned count) {
  if (io_uring_sq_space_left(&_ring) < count) {
    io_uring_submit(&_ring);
  }
}

}  // namespace ringhttpd::uring
