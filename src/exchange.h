#pragma once
// Memory for one request/response exchange, taken from a per-worker pool when
// a connection has bytes to parse and returned when it goes idle: a
// keep-alive connection waiting for its next request holds none of it.

#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "cache/file_cache.h"
#include "cache/file_info.h"
#include "src/http/range.h"
#include "src/http/request.h"
#include "uring/pipe_pool.h"

namespace ringhttpd {

// What one request/response records as it goes. All of it is reset at once
// before the next request on the connection (reset by assignment, so a field
// added here cannot be forgotten); only scalars live here, so the reset is a
// few cache lines.
struct ExchangeProgress {
  bool request_parsed = false;  // request holds a whole head (else the log shows "-")
  uint32_t head_bytes = 0;      // of the request being answered
  uint16_t status = 0;          // of the response, for the access log
  uint64_t body_bytes_sent = 0;
  bool keep_alive = false;      // after this response
  bool head_only = false;       // HEAD: no body

  // Resolving the file.
  uint32_t path_length = 0;     // of the directory path when trying index files
  uint32_t host_prefix_length = 0;  // --vhosts: "/host" before the request path
  bool trailing_slash = false;
  uint8_t index_tried = 0;      // index files tried so far (0: not a dir request)
  bool checking_directory = false;  // every index missed: does the dir exist?
  int file_fd = -1;           // opened on a miss, until the cache takes it
  CacheEntry* entry = nullptr;  // the file being served; holds a reference
  // A precompressed sibling ("file.br") served in its place; holds a reference.
  CacheEntry* sibling = nullptr;
  uint8_t sibling_coding = 0;     // ContentCoding of `sibling`
  uint8_t next_coding = 0;        // index into --precompressed still to try
  bool coding_decided = false;
  bool resolving_sibling = false; // the OPENAT2/STATX in flight are for a sibling

  // Sending (the plan itself is in Exchange).
  uint8_t range_count = 0;
  uint8_t range_index = 0;        // the next range to queue
  bool closing_piece_sent = false;
  uint64_t content_length = 0;
  uint32_t head_out_bytes = 0;    // what the pending SEND/SENDMSG must report
  uint64_t body_offset = 0;
  uint64_t body_remaining = 0;
  uint32_t pipe_bytes = 0;        // spliced in, not yet out
  uint32_t splice_out_asked = 0;  // bytes the last SPLICE out asked for
  uint8_t chain_pending = 0;      // CQEs still due from the queued chain
  bool chain_failed = false;
  bool file_ended_early = false;  // the file shrank under us
  bool socket_full = false;       // last SPLICE out was short or EAGAIN
  uring::Pipe* pipe = nullptr;
};

struct Exchange : ExchangeProgress {
  // Input: request bytes live in in[in_start, in_end); they outlive a
  // response when the client pipelined the next request.
  char* in = nullptr;
  uint32_t in_capacity = 0;
  uint32_t in_start = 0;
  uint32_t in_end = 0;
  // Scratch: first the normalised path to open, then the response head.
  char* scratch = nullptr;
  uint32_t scratch_capacity = 0;

  // Work areas, each written in full before it is read, so not reset.
  Request request;
  open_how how{};
  struct statx stat_buffer{};
  FileInfo file;
  // The send plan: range k of the file follows a piece of scratch (the head
  // and, for multipart, part headers) ending at piece_end[k]; after the last
  // range comes the piece ending at piece_end[range_count] (the multipart
  // closing delimiter, or nothing). A cached body goes out as one SENDMSG
  // over all of it; otherwise each piece is a SEND linked to the splices of
  // its range.
  std::array<ByteRange, max_ranges_limit> ranges{};
  std::array<uint32_t, max_ranges_limit + 1> piece_end{};
  char boundary[24] = {};
  iovec vectors[2 * max_ranges_limit + 1] = {};
  msghdr message = {};

  void reset_for_next_request() { static_cast<ExchangeProgress&>(*this) = ExchangeProgress{}; }
};

// Exchanges with their buffers in one block each. Grows on demand and keeps
// what it made, so the steady state allocates nothing.
class ExchangePool {
 public:
  ExchangePool(uint32_t in_capacity, uint32_t scratch_capacity)
      : _in_capacity(in_capacity), _scratch_capacity(scratch_capacity) {}
  ExchangePool(const ExchangePool&) = delete;
  ExchangePool& operator=(const ExchangePool&) = delete;

  Exchange* acquire() {
    if (_free.empty()) {
      auto block = std::make_unique<Block>();
      block->bytes = std::make_unique<char[]>(size_t{_in_capacity} + _scratch_capacity);
      block->exchange.in = block->bytes.get();
      block->exchange.in_capacity = _in_capacity;
      block->exchange.scratch = block->bytes.get() + _in_capacity;
      block->exchange.scratch_capacity = _scratch_capacity;
      _free.push_back(&block->exchange);
      _blocks.push_back(std::move(block));
    }
    Exchange* exchange = _free.back();
    _free.pop_back();
    exchange->in_start = exchange->in_end = 0;
    exchange->reset_for_next_request();
    return exchange;
  }
  void release(Exchange* exchange) { _free.push_back(exchange); }

 private:
  struct Block {
    Exchange exchange;
    std::unique_ptr<char[]> bytes;
  };
  uint32_t _in_capacity;
  uint32_t _scratch_capacity;
  std::vector<std::unique_ptr<Block>> _blocks;
  std::vector<Exchange*> _free;
};

}  // namespace ringhttpd
