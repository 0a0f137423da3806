#pragma once
// The error log: lines to stderr (journald under systemd), filtered by
// --log-level. Rare events only: a line is one write(2), never on the path
// of a healthy request.

#include <cstdio>

namespace ringhttpd {

enum class LogLevel : int { error = 0, warn = 1, info = 2 };

// Set once at start-up, before any worker starts.
inline LogLevel log_threshold = LogLevel::warn;

template <typename... Args>
void log_line(LogLevel level, const char* format, Args... args) {
  if (static_cast<int>(level) > static_cast<int>(log_threshold)) {
    return;
  }
  char line[512];
  int length = std::snprintf(line, sizeof line, format, args...);
  if (length < 0) {
    return;
  }
  size_t bytes = static_cast<size_t>(length) < sizeof line - 1 ? static_cast<size_t>(length)
                                                               : sizeof line - 2;
  line[bytes] = '\n';
  std::fwrite(line, 1, bytes + 1, stderr);
}

template <typename... Args>
void log_error(const char* format, Args... args) {
  log_line(LogLevel::error, format, args...);
}

template <typename... Args>
void log_warn(const char* format, Args... args) {
  log_line(LogLevel::warn, format, args...);
}

template <typename... Args>
void log_info(const char* format, Args... args) {
  log_line(LogLevel::info, format, args...);
}

}  // namespace ringhttpd
