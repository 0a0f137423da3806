#pragma once
// Error log lines to stderr (journald under systemd). Rare events only: a
// line is one write(2), never on the path of a healthy request.

#include <cstdio>

namespace ringhttpd {

template <typename... Args>
void log_error(const char* format, Args... args) {
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

}  // namespace ringhttpd
