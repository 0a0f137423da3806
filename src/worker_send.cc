// Sending a response, and closing a connection.
//
// A file body goes out as one linked chain per pipe-sized chunk:
//   SEND head (MSG_MORE | MSG_WAITALL) -> SPLICE file->pipe -> SPLICE pipe->socket
// MSG_WAITALL matters: without it a partial SEND would still let the link
// go on, and body bytes would overtake the rest of the head. With it the
// kernel keeps sending until the head is out (checked: an 8 MiB SEND to a
// slow reader completes whole before its linked splice runs).
//
// A splice that moves fewer bytes than asked breaks the link (the next op
// gets -ECANCELED), and a non-blocking socket answers a full send buffer with
// a short count or -EAGAIN. So each chain's results are collected and, when
// the last CQE of the chain is in, advance_response() decides the next step:
// flush what is left in the pipe (after POLLOUT when the socket was full),
// splice the next chunk, or finish.

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "src/http/accept_encoding.h"
#include "src/http/conditional.h"
#include "src/log.h"
#include "src/worker.h"

namespace ringhttpd {
namespace {

// A sibling serves only while it is at least as new as the file: a stale
// "app.js.br" left behind by an old deploy must not win over a new "app.js".
bool is_current_sibling(const CacheEntry& sibling, const CacheEntry& original) {
  return sibling.info.mtime_sec > original.info.mtime_sec ||
         (sibling.info.mtime_sec == original.info.mtime_sec &&
          sibling.info.mtime_nsec >= original.info.mtime_nsec);
}

// Do bytes follow the range being spliced: another range, or a non-empty
// closing piece? Only then may a splice say SPLICE_F_MORE (MSG_MORE): on
// the last bytes of a response it makes TCP hold the final partial segment
// back, waiting for data that never comes (measured: 100 KiB responses fell
// from 19k to 2k requests/s).
bool bytes_follow_current_range(const Exchange& exchange) {
  return exchange.range_index < exchange.range_count ||
         exchange.piece_end[exchange.range_count] > exchange.piece_end[exchange.range_count - 1];
}

constexpr int head_send_flags = MSG_WAITALL | MSG_NOSIGNAL;
constexpr int64_t linger_cap_ms = 30'000;

}  // namespace

// The scratch area is sized for the longest head (max URI plus fixed fields),
// so this never fails; if a change ever broke that, the connection closes
// rather than send a cut-off head.
bool Worker::head_fits(Connection& connection, const HeaderWriter& head) {
  if (!head.overflowed()) {
    return true;
  }
  log_error("ringhttpd: worker %u: response head larger than %u bytes; closing", _index,
            connection.exchange->scratch_capacity);
  abort(connection);
  return false;
}

void Worker::send_head_only(Connection& connection, const HeaderWriter& head) {
  if (!head_fits(connection, head)) {
    return;
  }
  Exchange& exchange = *connection.exchange;
  close_file(exchange.file_fd);  // HEAD, an empty file or an error: no body
  exchange.head_out_bytes = static_cast<uint32_t>(head.size());
  exchange.body_remaining = 0;
  exchange.range_index = exchange.range_count;
  exchange.closing_piece_sent = true;  // the head is the whole response
  exchange.chain_pending = 1;
  connection.state = ConnectionState::sending;
  timer_set(connection, TimerKind::send, _now_ms + _config.send_timeout_ms);
  io_uring_prep_send(queue(connection, Op::send), connection.fd, exchange.scratch,
                     exchange.head_out_bytes, head_send_flags | fin_follows_flag(connection));
}

// The head fields of a file response. Validators come from what is sent
// (a precompressed sibling has its own ETag); the type and the rule fields
// from the file asked for; Expires is counted from now.
FileHead Worker::file_head(Exchange& exchange, uint16_t status, uint64_t content_length,
                           char (&expires)[http_date_bytes]) {
  const CacheEntry& asked = *exchange.entry;
  const CacheEntry& served = served_entry(exchange);
  FileHead head{status, content_length, asked.content_type, served.last_modified_text(),
                served.etag_text()};
  if (exchange.sibling != nullptr) {
    head.content_encoding = coding_name(static_cast<ContentCoding>(exchange.sibling_coding));
  }
  head.vary_accept_encoding = !_config.precompressed.empty();
  head.extra_fields = asked.extra_fields;
  if (asked.max_age_seconds >= 0) {
    format_http_date(_now_seconds + asked.max_age_seconds, expires);
    head.expires = {expires, http_date_bytes};
  }
  return head;
}

// Picks the representation: the first --precompressed coding the client
// accepts whose sibling exists and is not older than the file. Siblings are
// cache entries like any file (a missing one is a remembered 404), looked
// up by the path of the file served ("/docs/index.html.br"). Returns false
// while a sibling is being opened; sibling_resolved() resumes.
bool Worker::choose_coding(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  if (exchange.coding_decided) {
    return true;
  }
  exchange.coding_decided = true;
  if (_config.precompressed.empty() || exchange.request.accept_encoding.empty()) {
    return true;
  }
  uint8_t accepted = accepted_codings(exchange.request.accept_encoding);
  const CacheEntry& original = *exchange.entry;
  for (; exchange.next_coding < _config.precompressed.size(); ++exchange.next_coding) {
    ContentCoding coding = _config.precompressed[exchange.next_coding];
    std::string_view suffix = coding_suffix(coding);
    size_t key_bytes = 1 + original.resolved_path.size() + suffix.size();
    if ((accepted & coding_bit(coding)) == 0 || key_bytes >= exchange.scratch_capacity) {
      continue;
    }
    exchange.scratch[0] = '/';
    std::memcpy(exchange.scratch + 1, original.resolved_path.data(), original.resolved_path.size());
    std::memcpy(exchange.scratch + 1 + original.resolved_path.size(), suffix.data(), suffix.size());
    exchange.scratch[key_bytes] = '\0';
    exchange.path_length = static_cast<uint32_t>(key_bytes);
    Lookup found = _cache.find(cache_key(exchange), _now_ms);
    if (found.freshness == Freshness::fresh) {
      if (found.entry->kind == EntryKind::file && is_current_sibling(*found.entry, original)) {
        _cache.acquire(found.entry);
        exchange.sibling = found.entry;
        exchange.sibling_coding = static_cast<uint8_t>(coding);
        return true;
      }
      continue;  // absent, or older than the file
    }
    if (found.freshness == Freshness::stale) {
      _cache.invalidate(found.entry);
    }
    exchange.coding_decided = false;
    exchange.resolving_sibling = true;
    queue_open(connection, exchange.scratch + 1);
    return false;
  }
  return true;
}

// The sibling being opened is known: `sibling` (holding a reference) or
// null when there is none. Goes on choosing, or serves.
void Worker::sibling_resolved(Connection& connection, CacheEntry* sibling) {
  Exchange& exchange = *connection.exchange;
  exchange.resolving_sibling = false;
  exchange.sibling = nullptr;
  if (sibling != nullptr && is_current_sibling(*sibling, *exchange.entry)) {
    exchange.sibling = sibling;
    exchange.sibling_coding = static_cast<uint8_t>(_config.precompressed[exchange.next_coding]);
    exchange.coding_decided = true;
  } else {
    if (sibling != nullptr) {
      _cache.release(sibling);
    }
    ++exchange.next_coding;
  }
  respond_with_file(connection);
}

// A file response: preconditions first (RFC 9110 §13.2.2), then the Range
// (when If-Range allows it), then the plan of what to send.
void Worker::respond_with_file(Connection& connection) {
  if (!choose_coding(connection)) {
    return;
  }
  Exchange& exchange = *connection.exchange;
  const CacheEntry& entry = served_entry(exchange);
  const Request& request = exchange.request;
  Validators validators{entry.etag_text(), static_cast<time_t>(entry.info.mtime_sec)};
  HeaderWriter head(exchange.scratch, exchange.scratch_capacity);
  switch (evaluate_preconditions(request, validators)) {
    case Precondition::failed:
      respond_status(connection, 412);
      return;
    case Precondition::not_modified: {
      // A 304 carries what a cache needs to update its copy (§15.4.5).
      exchange.status = 304;
      char expires[http_date_bytes];
      render_file_head(head, common_fields(exchange), file_head(exchange, 304, 0, expires));
      send_head_only(connection, head);
      return;
    }
    case Precondition::proceed:
      break;
  }
  RangeSet ranges;  // outcome full: the whole file
  if (!request.range.empty() && if_range_allows(request.if_range, validators)) {
    ranges = parse_range(request.range, entry.info.size, _config.max_ranges);
  }
  if (ranges.outcome == RangeOutcome::unsatisfiable) {
    char complete[24];
    auto [end, error] = std::to_chars(complete, complete + sizeof complete, entry.info.size);
    (void)error;
    exchange.status = 416;
    exchange.body_bytes_sent = exchange.head_only ? 0 : status_body_bytes(416);
    render_status_response(head, common_fields(exchange), 416, exchange.head_only,
                           "Content-Range", {"bytes */", std::string_view(complete, end - complete)});
    send_head_only(connection, head);
    return;
  }
  if (!plan_ranges(connection, ranges)) {
    return;
  }
  send_planned(connection);
}

// Renders the head (and, for several ranges, the part headers right after
// it) into scratch, and records where each piece ends.
bool Worker::plan_ranges(Connection& connection, const RangeSet& ranges) {
  Exchange& exchange = *connection.exchange;
  uint64_t size = served_entry(exchange).info.size;
  std::string_view content_type = exchange.entry->content_type;
  char expires[http_date_bytes];
  FileHead file = file_head(exchange, 200, size, expires);
  if (ranges.outcome == RangeOutcome::full) {
    exchange.ranges[0] = {0, size};
    exchange.range_count = size > 0 ? 1 : 0;
  } else {
    std::copy_n(ranges.ranges.begin(), ranges.count, exchange.ranges.begin());
    exchange.range_count = static_cast<uint8_t>(ranges.count);
    file.status = 206;
    file.complete_length = size;
  }
  bool multipart = exchange.range_count > 1;
  if (file.status == 206 && !multipart) {
    file.content_range = &exchange.ranges[0];
    file.content_length = exchange.ranges[0].length;
  }
  if (multipart) {
    // Content-Length needs the part headers' sizes before the head is
    // written: measure them once, then write them after the head.
    _random_state ^= _random_state << 13;
    _random_state ^= _random_state >> 7;
    _random_state ^= _random_state << 17;
    std::snprintf(exchange.boundary, sizeof exchange.boundary, "%016llx",
                  static_cast<unsigned long long>(_random_state));
    file.boundary = exchange.boundary;
    file.content_length = 0;
    char measure[1024];
    for (uint8_t k = 0; k < exchange.range_count; ++k) {
      HeaderWriter part(measure, sizeof measure);
      render_part_header(part, k == 0, file.boundary, content_type, exchange.ranges[k], size);
      file.content_length += part.size() + exchange.ranges[k].length;
    }
    HeaderWriter closing(measure, sizeof measure);
    render_multipart_end(closing, file.boundary);
    file.content_length += closing.size();
  }
  exchange.status = file.status;
  exchange.content_length = file.content_length;
  HeaderWriter out(exchange.scratch, exchange.scratch_capacity);
  render_file_head(out, common_fields(exchange), file);
  if (exchange.head_only || exchange.range_count == 0) {
    send_head_only(connection, out);  // HEAD, or an empty file: the head is all
    return false;
  }
  for (uint8_t k = 0; k < exchange.range_count; ++k) {
    if (multipart) {
      render_part_header(out, k == 0, file.boundary, content_type, exchange.ranges[k], size);
    }
    exchange.piece_end[k] = static_cast<uint32_t>(out.size());
  }
  if (multipart) {
    render_multipart_end(out, file.boundary);
  }
  exchange.piece_end[exchange.range_count] = static_cast<uint32_t>(out.size());
  return head_fits(connection, out);
}

void Worker::send_planned(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  const CacheEntry& entry = served_entry(exchange);
  connection.state = ConnectionState::sending;
  timer_set(connection, TimerKind::send, _now_ms + _config.send_timeout_ms);
  if (entry.body_ready) {
    // Warm small file: head, parts and body in one SENDMSG, no io-wq hop.
    // The entry's reference keeps the body alive until the CQE.
    size_t count = 0;
    size_t total = 0;
    uint32_t piece_start = 0;
    for (uint8_t k = 0; k <= exchange.range_count; ++k) {
      uint32_t piece_bytes = exchange.piece_end[k] - piece_start;
      if (piece_bytes > 0) {
        exchange.vectors[count++] = {exchange.scratch + piece_start, piece_bytes};
        total += piece_bytes;
      }
      piece_start = exchange.piece_end[k];
      if (k < exchange.range_count) {
        exchange.vectors[count++] = {entry.body.get() + exchange.ranges[k].first,
                                     exchange.ranges[k].length};
        total += exchange.ranges[k].length;
      }
    }
    exchange.message = {};
    exchange.message.msg_iov = exchange.vectors;
    exchange.message.msg_iovlen = count;
    exchange.head_out_bytes = static_cast<uint32_t>(total);
    exchange.body_bytes_sent = exchange.content_length;
    exchange.range_index = exchange.range_count;
    exchange.closing_piece_sent = true;
    exchange.chain_pending = 1;
    io_uring_prep_sendmsg(queue(connection, Op::send), connection.fd, &exchange.message,
                          head_send_flags | fin_follows_flag(connection));
    return;
  }
  exchange.pipe = _pipes.acquire(exchange.head_only ? 0 : exchange.content_length);
  if (exchange.pipe == nullptr) {
    log_error("ringhttpd: worker %u: no pipe for splice: %s", _index, strerror(errno));
    exchange.keep_alive = false;
    respond_status(connection, 503);
    return;
  }
  queue_next_piece(connection);
}

// The piece of scratch before the next range, linked to that range's first
// splices; after the last range, the closing piece if there is one.
void Worker::queue_next_piece(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  uint8_t k = exchange.range_index;
  uint32_t piece_start = k == 0 ? 0 : exchange.piece_end[k - 1];
  uint32_t piece_bytes = exchange.piece_end[k] - piece_start;
  bool range_follows = k < exchange.range_count;
  if (!range_follows) {
    exchange.closing_piece_sent = true;
    if (piece_bytes == 0) {
      finish_exchange(connection);  // a single range: nothing after its bytes
      return;
    }
  }
  _ring.reserve(3);
  if (piece_bytes > 0) {
    io_uring_sqe* send = queue(connection, Op::send);
    io_uring_prep_send(send, connection.fd, exchange.scratch + piece_start, piece_bytes,
                       head_send_flags | (range_follows ? MSG_MORE : fin_follows_flag(connection)));
    exchange.head_out_bytes = piece_bytes;
    ++exchange.chain_pending;
    if (range_follows) {
      send->flags |= IOSQE_IO_LINK;
    }
  }
  if (range_follows) {
    exchange.body_offset = exchange.ranges[k].first;
    exchange.body_remaining = exchange.ranges[k].length;
    exchange.range_index = static_cast<uint8_t>(k + 1);
    queue_splice_chunk(connection);
  }
}

void Worker::queue_splice_chunk(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  auto chunk = static_cast<uint32_t>(
      std::min<uint64_t>(exchange.body_remaining, exchange.pipe->capacity_bytes));
  _ring.reserve(2);
  io_uring_sqe* in = queue(connection, Op::splice_in);
  io_uring_prep_splice(in, served_entry(exchange).fd, static_cast<int64_t>(exchange.body_offset),
                       exchange.pipe->write_fd, -1, chunk, 0);
  in->flags |= IOSQE_IO_LINK;
  io_uring_sqe* out = queue(connection, Op::splice_out);
  bool more = chunk < exchange.body_remaining || bytes_follow_current_range(exchange) ||
              fin_follows_flag(connection) != 0;
  io_uring_prep_splice(out, exchange.pipe->read_fd, -1, connection.fd, -1, chunk,
                       more ? SPLICE_F_MORE : 0);
  exchange.splice_out_asked = chunk;
  exchange.chain_pending += 2;
}

void Worker::queue_pipe_flush(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  _ring.reserve(2);
  if (exchange.socket_full) {
    io_uring_sqe* poll = queue(connection, Op::poll_out);
    io_uring_prep_poll_add(poll, connection.fd, POLLOUT);
    poll->flags |= IOSQE_IO_LINK;
    ++exchange.chain_pending;
  }
  io_uring_sqe* out = queue(connection, Op::splice_out);
  bool more = exchange.body_remaining > 0 || bytes_follow_current_range(exchange) ||
              fin_follows_flag(connection) != 0;
  io_uring_prep_splice(out, exchange.pipe->read_fd, -1, connection.fd, -1, exchange.pipe_bytes,
                       more ? SPLICE_F_MORE : 0);
  exchange.splice_out_asked = exchange.pipe_bytes;
  ++exchange.chain_pending;
}

void Worker::on_chain_completion(Connection& connection, Op op, int result) {
  if (connection.exchange == nullptr) {
    return;
  }
  Exchange& exchange = *connection.exchange;
  --exchange.chain_pending;
  switch (op) {
    case Op::send:
      if (result != static_cast<int>(exchange.head_out_bytes)) {
        exchange.chain_failed = true;
      }
      break;
    case Op::splice_in:
      if (result > 0) {
        exchange.pipe_bytes += static_cast<uint32_t>(result);
        exchange.body_offset += static_cast<uint64_t>(result);
        exchange.body_remaining -= static_cast<uint64_t>(result);
      } else if (result == 0) {
        exchange.file_ended_early = true;  // truncated since the STATX
      } else if (result != -ECANCELED) {
        exchange.chain_failed = true;
      }
      break;
    case Op::splice_out:
      if (result > 0) {
        exchange.pipe_bytes -= static_cast<uint32_t>(result);
        exchange.body_bytes_sent += static_cast<uint64_t>(result);
        exchange.socket_full = static_cast<uint32_t>(result) < exchange.splice_out_asked;
      } else if (result == -EAGAIN) {
        exchange.socket_full = true;
      } else if (result == -ECANCELED) {
        exchange.socket_full = false;  // the splice in was short; retry at once
      } else {
        exchange.chain_failed = true;  // EPIPE, ECONNRESET: the client left
      }
      break;
    case Op::poll_out:
      if (result < 0) {
        exchange.chain_failed = true;
      }
      break;
    case Op::accept:
    case Op::tick:
    case Op::stop:
    case Op::cancel_accept:
    case Op::close_file:
    case Op::recv:
    case Op::open:
    case Op::statx:
    case Op::revalidate:
    case Op::read_body:
    case Op::log_write:
    case Op::shutdown:
    case Op::cancel:
    case Op::close_socket:
      break;  // not part of a send chain
  }
  if (exchange.chain_pending == 0 && connection.state == ConnectionState::sending) {
    // Progress: the deadline moves. A reader that stops reading leaves a
    // POLLOUT pending until --send-timeout passes with no completion.
    timer_set(connection, TimerKind::send, _now_ms + _config.send_timeout_ms);
    advance_response(connection);
  }
}

void Worker::advance_response(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  if (exchange.chain_failed) {
    abort(connection);
  } else if (exchange.pipe_bytes > 0) {
    queue_pipe_flush(connection);
  } else if (exchange.file_ended_early) {
    // The head promised more bytes than the file now has: the only honest
    // end is to close, so the client sees a short body, not a wrong one.
    log_warn("ringhttpd: worker %u: %s shrank during a response; closing", _index,
              served_entry(exchange).resolved_path.c_str());
    _cache.invalidate(&served_entry(exchange));
    abort(connection);
  } else if (exchange.body_remaining > 0) {
    queue_splice_chunk(connection);
  } else if (!exchange.closing_piece_sent) {
    queue_next_piece(connection);
  } else {
    finish_exchange(connection);
  }
}

void Worker::finish_exchange(Connection& connection) {
  Exchange& exchange = *connection.exchange;
  if (exchange.range_count > 0 && !exchange.head_only) {
    exchange.body_bytes_sent = exchange.content_length;  // part headers included
  }
  log_exchange(connection);
  if (exchange.pipe != nullptr) {
    _pipes.release(exchange.pipe, true);
    exchange.pipe = nullptr;
  }
  close_file(exchange.file_fd);
  release_entries(exchange);
  if (!exchange.keep_alive || _stopping) {
    if (client_closes_cleanly(connection)) {
      queue_close(connection);
    } else {
      begin_close(connection);
    }
    return;
  }
  exchange.reset_for_next_request();
  process_input(connection, true);
}

void Worker::release_exchange(Connection& connection) {
  Exchange* exchange = connection.exchange;
  if (exchange == nullptr) {
    return;
  }
  if (exchange->pipe != nullptr) {
    _pipes.release(exchange->pipe, exchange->pipe_bytes == 0);
  }
  close_file(exchange->file_fd);
  release_entries(*exchange);
  _exchanges.release(exchange);
  connection.exchange = nullptr;
}

void Worker::release_entries(Exchange& exchange) {
  for (CacheEntry** held : {&exchange.entry, &exchange.sibling}) {
    if (*held != nullptr) {
      _cache.release(*held);
      *held = nullptr;
    }
  }
}

void Worker::close_file(int& fd) {
  if (fd >= 0) {
    io_uring_prep_close(queue_detached(Op::close_file), fd);
    fd = -1;
  }
}

// ---- closing ------------------------------------------------------------------

// A client that sent "Connection: close" (or an HTTP/1.0 request without
// keep-alive) may send nothing more (RFC 9112 9.6); when nothing of it is left
// unread either, a plain close sends FIN at once, as nginx does. This skips
// SHUTDOWN, the draining RECV and its wakeup: Connection: close churn went
// from 17.2k to 20.0k requests/s and server CPU from 30 to 21 us per request
// (bench/RESULTS.md, bench/ab.sh).
bool Worker::client_closes_cleanly(const Connection& connection) const {
  const Exchange& exchange = *connection.exchange;
  return exchange.request_parsed && !exchange.request.keep_alive() &&
         exchange.in_start == exchange.in_end && connection.discard_body_bytes == 0;
}

// When a plain close follows the response, its last bytes go out with
// MSG_MORE: TCP holds the final partial segment for the few microseconds
// until close() sends it with FIN in the same segment (9 segments per
// Connection: close exchange instead of 10, as nginx's corked close).
// Never on a connection that stays open: there MSG_MORE on the last bytes
// holds them back for 200 ms (see bytes_follow_current_range).
int Worker::fin_follows_flag(const Connection& connection) const {
  return client_closes_cleanly(connection) ? MSG_MORE : 0;
}

// Lingering close: SHUT_WR sends FIN after the response, then input is
// drained until the client closes. Closing at once with unread input would
// send RST, and an RST can destroy a response the client has not read yet.
void Worker::begin_close(Connection& connection) {
  release_exchange(connection);
  timer_clear(connection);
  connection.state = ConnectionState::shutting;
  io_uring_prep_shutdown(queue(connection, Op::shutdown), connection.fd, SHUT_WR);
}

void Worker::on_shutdown(Connection& connection, int result) {
  if (connection.state == ConnectionState::aborting) {
    return;
  }
  if (result < 0) {
    abort(connection);
    return;
  }
  connection.state = ConnectionState::lingering;
  connection.linger_until_ms = _now_ms + linger_cap_ms;
  timer_set(connection, TimerKind::linger, _now_ms + _config.linger_timeout_ms);
  arm_recv(connection);
}

void Worker::abort(Connection& connection) {
  if (connection.state == ConnectionState::aborting || connection.state == ConnectionState::closing) {
    return;
  }
  if (connection.state == ConnectionState::sending) {
    log_exchange(connection);  // a response cut short is logged with what was sent
  }
  timer_clear(connection);
  connection.state = ConnectionState::aborting;
  if (connection.in_flight > 0) {
    // Every op naming the socket (RECV, SEND, SPLICE out, POLL) is cancelled;
    // a SPLICE in (file -> pipe) finishes by itself. The close waits for the
    // last completion: a queued splice resolves its fd only when it runs.
    io_uring_prep_cancel_fd(queue(connection, Op::cancel), connection.fd, IORING_ASYNC_CANCEL_ALL);
  } else {
    queue_close(connection);
  }
}

void Worker::queue_close(Connection& connection) {
  release_exchange(connection);
  timer_clear(connection);
  connection.state = ConnectionState::closing;
  io_uring_prep_close(queue(connection, Op::close_socket), connection.fd);
}

}  // namespace ringhttpd
