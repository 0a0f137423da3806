#include "src/access_log.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cassert>
#include <cstring>

namespace ringhttpd {
namespace {

// Appends into a fixed buffer, refusing (and remembering) what does not fit.
class LineWriter {
 public:
  LineWriter(char* out, size_t capacity) : _out(out), _capacity(capacity) {}
  void put(char c) {
    if (_size < _capacity) {
      _out[_size++] = c;
    } else {
      _full = true;
    }
  }
  void put(std::string_view text) {
    for (char c : text) {
      put(c);
    }
  }
  void put_number(uint64_t value) {
    char digits[20];
    auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
    (void)error;
    put(std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  // Request bytes inside a quoted field: escaped as nginx and Apache do.
  void put_escaped(std::string_view text) {
    if (text.empty()) {
      put('-');
      return;
    }
    for (char c : text) {
      auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        put('\\');
        put(c);
      } else if (byte < 0x20 || byte >= 0x7f) {
        put("\\x");
        put("0123456789ABCDEF"[byte >> 4]);
        put("0123456789ABCDEF"[byte & 0xf]);
      } else {
        put(c);
      }
    }
  }
  size_t size() const { return _size; }
  bool full() const { return _full; }

 private:
  char* _out;
  size_t _capacity;
  size_t _size = 0;
  bool _full = false;
};

void put_peer(LineWriter& line, const PeerAddress& peer) {
  if (peer.family == AF_INET) {
    // By hand: glibc's inet_ntop formats IPv4 through sprintf, which was
    // the largest libc entry in a profile of 1 KiB requests (bench/RESULTS.md).
    for (int i = 0; i < 4; ++i) {
      if (i > 0) {
        line.put('.');
      }
      line.put_number(peer.bytes[i]);
    }
    return;
  }
  char text[INET6_ADDRSTRLEN];
  int family = peer.family == AF_INET6 ? AF_INET6 : AF_INET;
  if (peer.family == 0 || inet_ntop(family, peer.bytes, text, sizeof text) == nullptr) {
    line.put('-');
    return;
  }
  line.put(std::string_view(text));
}

}  // namespace

void PeerAddress::set(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    family = AF_INET;
    std::memcpy(bytes, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, 4);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      family = AF_INET;  // log ::ffff:1.2.3.4 as 1.2.3.4
      std::memcpy(bytes, v6.sin6_addr.s6_addr + 12, 4);
    } else {
      family = AF_INET6;
      std::memcpy(bytes, &v6.sin6_addr, 16);
    }
  } else {
    family = 0;
  }
}

size_t format_log_entry(const LogEntry& entry, LogFormat format, char* out, size_t capacity) {
  // Keep room for the marker, so a cut entry still ends in a newline.
  size_t room = capacity - truncated_marker.size();
  LineWriter line(out, room);
  put_peer(line, entry.peer);
  line.put(" - - ");
  line.put(entry.clf_time);
  line.put(" \"");
  if (entry.method.empty()) {
    line.put('-');
  } else {
    line.put_escaped(entry.method);
    line.put(' ');
    line.put_escaped(entry.target);
    line.put(entry.version_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
  }
  line.put("\" ");
  line.put_number(entry.status);
  line.put(' ');
  if (entry.body_bytes == 0) {
    line.put('-');
  } else {
    line.put_number(entry.body_bytes);
  }
  if (format == LogFormat::combined) {
    line.put(" \"");
    line.put_escaped(entry.referer);
    line.put("\" \"");
    line.put_escaped(entry.user_agent);
    line.put('"');
  }
  line.put('\n');
  if (!line.full()) {
    return line.size();
  }
  std::memcpy(out + room, truncated_marker.data(), truncated_marker.size());
  return capacity;
}

bool LogBuffers::append(const LogEntry& entry, LogFormat format, int64_t now_ms) {
  char line[log_buffer_bytes];
  size_t length = format_log_entry(entry, format, line, sizeof line);
  Buffer* buffer = &_buffers[_current];
  if (buffer->used + length > log_buffer_bytes) {
    if (!seal_current()) {
      ++_dropped;
      return false;
    }
    buffer = &_buffers[_current];
  }
  if (buffer->used == 0) {
    buffer->first_byte_ms = now_ms;
  }
  std::memcpy(buffer->bytes.data() + buffer->used, line, length);
  buffer->used += static_cast<uint32_t>(length);
  ++buffer->entries;
  return true;
}

bool LogBuffers::seal_current() {
  if (_sealed_count + 1 >= log_buffer_count) {
    return false;  // the next buffer is still sealed or being written
  }
  ++_sealed_count;
  _current = (_current + 1) % log_buffer_count;
  _buffers[_current].used = 0;
  _buffers[_current].written = 0;
  _buffers[_current].entries = 0;
  return true;
}

void LogBuffers::seal_if_due(int64_t now_ms, int64_t flush_ms, bool force) {
  const Buffer& buffer = _buffers[_current];
  if (buffer.used > 0 && (force || now_ms - buffer.first_byte_ms >= flush_ms)) {
    seal_current();
  }
}

std::string_view LogBuffers::write_next() {
  if (_in_flight == 0) {
    _chain_open = true;  // a new chain may start
  }
  if (!_chain_open || _in_flight == _sealed_count) {
    _chain_open = false;
    return {};
  }
  const Buffer& buffer = _buffers[(_sealed_head + _in_flight) % log_buffer_count];
  assert(buffer.used > buffer.written);
  ++_in_flight;
  return {buffer.bytes.data() + buffer.written, buffer.used - buffer.written};
}

void LogBuffers::write_done(int result) {
  assert(_in_flight > 0 && _in_flight <= _sealed_count);
  Buffer& buffer = _buffers[_sealed_head];
  --_in_flight;
  if (result == -ECANCELED) {
    // The rest of this chain is cancelled too; write_done() for each of
    // them lands here until _in_flight is 0 and a new chain can start.
    return;
  }
  uint32_t left = buffer.used - buffer.written;
  if (result > 0 && static_cast<uint32_t>(result) < left) {
    buffer.written += static_cast<uint32_t>(result);  // the rest goes first in the next chain
    _last_error = ENOSPC;
    return;
  }
  if (result < 0 && buffer.written > 0) {
    _last_error = -result;  // a line is cut: it is finished when the disk takes it
    return;
  }
  if (result == static_cast<int>(left)) {
    _written += buffer.entries;
  } else {
    _dropped += buffer.entries;  // nothing of it went: the disk is full, or the file gone
    _last_error = result < 0 ? -result : ENOSPC;
  }
  buffer.used = 0;
  buffer.written = 0;
  buffer.entries = 0;
  _sealed_head = (_sealed_head + 1) % log_buffer_count;
  assert(_sealed_count > 0);
  --_sealed_count;
}

}  // namespace ringhttpd
