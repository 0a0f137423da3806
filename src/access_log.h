#pragma once
// Access log entries (Common and Combined Log Format) and the per-worker
// buffers they are written through, in the manner of nginx's log buffer:
//
// - an entry is formatted straight into a buffer of PIPE_BUF bytes; when the
//   next one would not fit, the buffer is sealed and queued for writing, so a
//   write never exceeds PIPE_BUF and never splits an entry. Writes of at most
//   PIPE_BUF bytes to a pipe are atomic, so entries from several workers
//   never interleave, even when the log is a FIFO;
// - an entry longer than PIPE_BUF is cut and ends in a marker, never split;
// - a buffer is also sealed `flush_ms` after its first byte, and at stop;
// - sealed buffers are written as one linked chain of writes, started only
//   when no chain is in flight (and, by the worker, only once several are
//   sealed or a tick comes): links keep the worker's entries in order, and
//   a loop iteration that answered hundreds of pipelined requests writes all
//   of their buffers at once. A write cancelled because an earlier one in
//   its chain failed is written again; when every buffer is full or in
//   flight, entries are dropped and counted.
//
// Nothing here does I/O: the worker takes sealed buffers and writes them
// with its ring.

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "cache/http_date.h"

namespace ringhttpd {

enum class LogFormat : uint8_t { common, combined };

constexpr size_t log_buffer_bytes = 4096;  // PIPE_BUF on Linux
constexpr size_t log_buffer_count = 64;
constexpr std::string_view truncated_marker = "...[truncated]\n";

// The client address as accept gave it; formatted only when logged.
struct PeerAddress {
  uint8_t family = 0;  // AF_INET, AF_INET6, or 0 when unknown
  uint8_t bytes[16] = {};
  void set(const sockaddr_storage& address);
};

struct LogEntry {
  PeerAddress peer;
  std::string_view clf_time;  // from ClfTimeCache (cache/http_date.h)
  std::string_view method;    // empty when the request line never parsed
  std::string_view target;
  uint8_t version_minor = 1;
  uint16_t status = 0;
  uint64_t body_bytes = 0;
  std::string_view referer;
  std::string_view user_agent;
};

// Formats one entry, newline included, into out[0, capacity). Returns its
// length; an entry that does not fit is cut and ends in truncated_marker.
// Bytes from the request are escaped (\" \\ and \xHH for controls and
// non-ASCII), so a client cannot forge or break lines.
size_t format_log_entry(const LogEntry& entry, LogFormat format, char* out, size_t capacity);

class LogBuffers {
 public:
  // Appends one entry; false when it was dropped (every buffer busy).
  bool append(const LogEntry& entry, LogFormat format, int64_t now_ms);
  // Seals the current buffer if it has bytes and is older than flush_ms (or
  // at once with force); sealed buffers wait for write_next().
  void seal_if_due(int64_t now_ms, int64_t flush_ms, bool force);

  // Sealed buffers to write, oldest first, one call each, while no chain is
  // in flight; empty when there are no more. Writes complete in this order.
  std::string_view write_next();
  // The oldest write in flight finished (result: bytes or -errno). A write
  // that failed with nothing written drops that buffer's entries, counted;
  // a short one (a full disk, a file size limit) keeps what is left of the
  // buffer for the next chain, and so does any later failure of it, so the
  // line it cut is finished once the disk takes it, never left half
  // written; -ECANCELED (an earlier write of the chain failed) keeps the
  // buffer for the next chain.
  void write_done(int result);
  size_t sealed_buffers() const { return _sealed_count; }
  // Buffers neither sealed nor being written: the one being filled and
  // those after it.
  size_t free_buffers() const { return log_buffer_count - _sealed_count; }

  bool idle() const { return _in_flight == 0 && _sealed_count == 0 && _buffers[_current].used == 0; }
  bool writing() const { return _in_flight > 0; }
  uint64_t dropped_entries() const { return _dropped; }
  uint64_t written_entries() const { return _written; }
  int last_error() const { return _last_error; }

 private:
  struct Buffer {
    std::array<char, log_buffer_bytes> bytes;
    uint32_t used = 0;
    uint32_t written = 0;  // a short write got this far
    uint32_t entries = 0;
    int64_t first_byte_ms = 0;
  };
  bool seal_current();

  std::array<Buffer, log_buffer_count> _buffers{};
  size_t _current = 0;            // being filled
  size_t _sealed_head = 0;        // oldest sealed (next to write)
  size_t _sealed_count = 0;       // sealed, including those being written
  size_t _in_flight = 0;          // the oldest sealed buffers, being written
  bool _chain_open = false;       // write_next() may add to the chain being built
  uint64_t _dropped = 0;
  uint64_t _written = 0;
  int _last_error = 0;
};

}  // namespace ringhttpd
