#pragma once
// The error log: lines to stderr (journald under systemd), filtered by
// --log-level. Rare events only: a line is one write(2), never on the path
// of a healthy request, and one that never waits (a full stderr costs the
// line, counted). Each thread writes at most a burst of 20 lines, then 10
// a second, and says how many it held back. printf-style, checked by the
// compiler.

namespace ringhttpd {

enum class LogLevel : int { error = 0, warn = 1, info = 2 };

// Set once at start-up, before any worker starts.
inline LogLevel log_threshold = LogLevel::warn;

// Under systemd, with stderr connected to the journal (JOURNAL_STREAM names
// stderr's device and inode), each line starts with its syslog priority
// ("<3>" error, "<4>" warning, "<6>" info), which journald takes as the
// entry's priority and strips: `journalctl -p warning` then shows the
// server's errors and warnings, not all of its lines at the stream's
// default (info). Call once at start-up.
void log_detect_journal();

void log_line(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ringhttpd

// Macros keep the format a literal at the call site, so -Wformat checks it.
#define log_error(...) ::ringhttpd::log_line(::ringhttpd::LogLevel::error, __VA_ARGS__)
#define log_warn(...) ::ringhttpd::log_line(::ringhttpd::LogLevel::warn, __VA_ARGS__)
#define log_info(...) ::ringhttpd::log_line(::ringhttpd::LogLevel::info, __VA_ARGS__)
