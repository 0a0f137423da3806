#include "src/log.h"

#include <cstdarg>
#include <cstdio>

namespace ringhttpd {

void log_line(LogLevel level, const char* format, ...) {
  if (static_cast<int>(level) > static_cast<int>(log_threshold)) {
    return;
  }
  char line[512];
  va_list args;
  va_start(args, format);
  int length = std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (length < 0) {
    return;
  }
  size_t bytes = static_cast<size_t>(length) < sizeof line - 1 ? static_cast<size_t>(length)
                                                               : sizeof line - 2;
  line[bytes] = '\n';
  std::fwrite(line, 1, bytes + 1, stderr);
}

}  // namespace ringhttpd
