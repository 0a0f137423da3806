#include "src/log.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ringhttpd {
namespace {

// Each thread may write a burst of lines, then this many a second: a flood
// of failing requests (a broken file asked for in a loop) costs a few lines
// and a count, not a line per request.
constexpr double lines_per_second = 10;
constexpr double burst_lines = 20;

struct LineBudget {
  int64_t refilled_ms = -1;
  double lines = burst_lines;
  unsigned long long suppressed = 0;  // over the budget
  unsigned long long lost = 0;        // stderr was full
};
thread_local LineBudget budget;

bool journal_priorities = false;

// sd-daemon's SD_ERR, SD_WARNING, SD_INFO.
const char* priority_prefix(LogLevel level) {
  if (!journal_priorities) {
    return "";
  }
  switch (level) {
    case LogLevel::error: return "<3>";
    case LogLevel::warn: return "<4>";
    case LogLevel::info: return "<6>";
  }
  return "";
}

int64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
}

bool spend_one_line() {
  int64_t now_ms = monotonic_ms();
  if (budget.refilled_ms >= 0) {
    budget.lines += static_cast<double>(now_ms - budget.refilled_ms) * lines_per_second / 1000;
    budget.lines = budget.lines > burst_lines ? burst_lines : budget.lines;
  }
  budget.refilled_ms = now_ms;
  if (budget.lines < 1) {
    ++budget.suppressed;
    return false;
  }
  budget.lines -= 1;
  return true;
}

// One write that never waits: a pipe or socket that is full (journald
// behind, a reader gone) costs the line, counted, and never blocks a
// worker's loop. RWF_NOWAIT is refused for regular files, which have no
// reader to wait for: those get a plain write.
void write_line(const char* line, size_t bytes) {
  iovec vector{const_cast<char*>(line), bytes};
  ssize_t written = pwritev2(STDERR_FILENO, &vector, 1, -1, RWF_NOWAIT);
  if (written < 0 && errno == EOPNOTSUPP) {
    written = write(STDERR_FILENO, line, bytes);
  }
  if (written != static_cast<ssize_t>(bytes)) {
    ++budget.lost;
  }
}

}  // namespace

void log_detect_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat err {};
  unsigned long long device = 0;
  unsigned long long inode = 0;
  journal_priorities = stream != nullptr && std::sscanf(stream, "%llu:%llu", &device, &inode) == 2 &&
                       fstat(STDERR_FILENO, &err) == 0 && err.st_dev == device && err.st_ino == inode;
}

void log_line(LogLevel level, const char* format, ...) {
  if (static_cast<int>(level) > static_cast<int>(log_threshold) || !spend_one_line()) {
    return;
  }
  char line[512];
  if (budget.suppressed > 0 || budget.lost > 0) {
    int length = std::snprintf(line, sizeof line,
                               "%sringhttpd: %llu log lines suppressed (more than %g a second), "
                               "%llu lost (stderr full)\n",
                               priority_prefix(LogLevel::warn), budget.suppressed, lines_per_second,
                               budget.lost);
    budget.suppressed = budget.lost = 0;
    write_line(line, static_cast<size_t>(length));
  }
  const char* prefix = priority_prefix(level);
  size_t prefix_bytes = std::strlen(prefix);
  std::memcpy(line, prefix, prefix_bytes);
  va_list args;
  va_start(args, format);
  int length = std::vsnprintf(line + prefix_bytes, sizeof line - prefix_bytes, format, args);
  va_end(args);
  if (length < 0) {
    return;
  }
  length += static_cast<int>(prefix_bytes);
  size_t bytes = static_cast<size_t>(length) < sizeof line - 1 ? static_cast<size_t>(length)
                                                               : sizeof line - 2;
  line[bytes] = '\n';
  write_line(line, bytes + 1);
}

}  // namespace ringhttpd
