#include "src/access_log_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "src/log.h"

namespace ringhttpd {
namespace {

// Log writes run on io-wq threads: ext4 has no non-blocking buffered writes,
// so each WRITE is handed to one, and a linked chain runs in the thread that
// took its first write. One chain per 4 KiB buffer cost that thread 0.32 us
// of CPU per 1 KiB request; chains of log_chain_buffers cost 0.09-0.13 us
// (bench/RESULTS.md). The tick writes whatever is due, so --log-flush holds.
// A regular file takes them all in one WRITEV: one io-wq trip for the lot
// (16 pipelined requests a connection: a chain of 4 KiB WRITEs kept up with
// about 70,000 entries a second and dropped the rest; bench/RESULTS.md).
constexpr size_t log_chain_buffers = 8;

}  // namespace

AccessLogWriter::AccessLogWriter(unsigned worker, const Config& config, const LoopState& loop,
                                 OpQueue& ops, RingFdCloser& closer, std::atomic<int>& fd_slot,
                                 WorkerStats& stats)
    : _worker(worker),
      _config(config),
      _loop(loop),
      _ops(ops),
      _closer(closer),
      _fd_slot(fd_slot),
      _stats(stats) {}

AccessLogWriter::~AccessLogWriter() {
  if (_fd >= 0) {
    close(_fd);
  }
  report_drops(true);
}

void AccessLogWriter::record(const Connection& connection) {
  const Exchange& exchange = *connection.exchange;
  _stats.requests.fetch_add(1, std::memory_order_relaxed);
  if (exchange.status >= 100 && exchange.status < 600) {
    _stats.responses_by_class[exchange.status / 100 - 1].fetch_add(1, std::memory_order_relaxed);
  }
  _stats.body_bytes.fetch_add(exchange.body_bytes_sent, std::memory_order_relaxed);
  if (_fd < 0) {
    return;
  }
  LogEntry entry;
  entry.peer = connection.peer;
  entry.clf_time = _clf_time.get(_loop.now_seconds);
  if (exchange.request_parsed) {
    const Request& request = exchange.request;
    entry.method = request.method_text;
    entry.target = request.target;
    entry.version_minor = request.version_minor;
    entry.referer = request.referer;
    entry.user_agent = request.user_agent;
  }
  entry.status = exchange.status;
  entry.body_bytes = exchange.body_bytes_sent;
  _log.append(entry, _config.log_combined ? LogFormat::combined : LogFormat::common, _loop.now_ms);
  pump(Pump::full_chain);
}

// All sealed buffers go out as one linked chain, started only when the last
// chain is done: the links keep this worker's entries in order. A new
// descriptor from a reopen is taken between chains, so no entry is lost:
// those already written went to the old file, the rest go to the new one.
void AccessLogWriter::pump(Pump what) {
  if (_fd < 0 || _log.writing() || _log.sealed_buffers() == 0) {
    return;
  }
  if (what == Pump::full_chain && _log.sealed_buffers() < log_chain_buffers) {
    return;  // the tick writes what is due
  }
  if (int reopened = _fd_slot.exchange(-1); reopened >= 0) {
    _closer.close_fd(_fd);
    adopt(reopened);
  }
  if (_fd_is_file) {
    _vector_count = 0;
    for (std::string_view bytes = _log.write_next(); !bytes.empty(); bytes = _log.write_next()) {
      _vectors[_vector_count++] = {const_cast<char*>(bytes.data()), bytes.size()};
    }
    // Offset -1: the file position, which O_APPEND makes the end.
    io_uring_prep_writev(_ops.queue_detached(Op::log_writev), _fd, _vectors.data(),
                         static_cast<unsigned>(_vector_count), static_cast<uint64_t>(-1));
    return;
  }
  _ops.reserve(static_cast<unsigned>(_log.sealed_buffers()));
  io_uring_sqe* last = nullptr;
  for (std::string_view bytes = _log.write_next(); !bytes.empty(); bytes = _log.write_next()) {
    if (last != nullptr) {
      last->flags |= IOSQE_IO_LINK;
    }
    last = _ops.queue_detached(Op::log_write);
    // Offset -1: the file position, which O_APPEND makes the end.
    io_uring_prep_write(last, _fd, bytes.data(), static_cast<unsigned>(bytes.size()),
                        static_cast<uint64_t>(-1));
  }
}

void AccessLogWriter::on_write(int result) {
  _log.write_done(result);
  pump(Pump::full_chain);
}

// One result for the buffers of the WRITEV, told to each as the chain of
// WRITEs would have told it: whole ones done, then the one it stopped in
// short (or failed, when nothing went), and the rest cancelled.
void AccessLogWriter::on_writev(int result) {
  int left = result;
  for (size_t i = 0; i < _vector_count; ++i) {
    auto length = static_cast<int>(_vectors[i].iov_len);
    if (left >= length) {
      _log.write_done(length);
      left -= length;
    } else if (left > 0 || (i == 0 && result <= 0)) {
      _log.write_done(left > 0 ? left : result);
      left = 0;
      for (size_t j = i + 1; j < _vector_count; ++j) {
        _log.write_done(-ECANCELED);
      }
      break;
    } else {
      _log.write_done(-ECANCELED);
    }
  }
  _vector_count = 0;
  pump(Pump::full_chain);
}

void AccessLogWriter::adopt(int fd) {
  _fd = fd;
  struct stat info {};
  _fd_is_file = fd >= 0 && fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
}

void AccessLogWriter::on_tick() {
  _log.seal_if_due(_loop.now_ms, _config.log_flush_ms, false);
  pump(Pump::everything);
  report_drops(false);
}

bool AccessLogWriter::flush_for_stop() {
  _log.seal_if_due(_loop.now_ms, 0, true);
  pump(Pump::everything);
  return !_log.writing();
}

// A full disk or a vanished reader must not flood stderr: one line per
// interval, with the count.
void AccessLogWriter::report_drops(bool force) {
  uint64_t dropped = _log.dropped_entries();
  if (dropped == _drops_reported || (!force && _loop.now_ms < _report_due_ms)) {
    return;
  }
  log_warn("ringhttpd: worker %u: access log: %llu entries dropped (%s)", _worker,
           static_cast<unsigned long long>(dropped - _drops_reported),
           _log.last_error() != 0 ? strerror(_log.last_error()) : "buffers full: the log is too slow");
  _drops_reported = dropped;
  _report_due_ms = _loop.now_ms + 10'000;
}

}  // namespace ringhttpd
