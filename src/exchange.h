#pragma once
// Memory for one request/response exchange, from a per-worker pool
// (exchange_pool.h), in tiers that follow what the connection is doing:
//
// - idle in keep-alive: none of it (the RECV waits on a provided buffer);
// - holding part of a request: the Exchange and a small input buffer;
// - with a head larger than that: a buffer of --max-header bytes instead;
// - answering: a ResponseSpace (scratch, plan, SENDMSG's vectors), given
//   back when the response ends.

#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cassert>
#include <cstdint>
#include <memory>

#include "cache/file_cache.h"
#include "src/docroot.h"
#include "src/http/chunked.h"
#include "src/http/range.h"
#include "src/http/request.h"
#include "src/plan/send_plan.h"
#include "uring/pipe_pool.h"

namespace ringhttpd {

// A request body (the server answers no method that takes one) is skipped
// up to this size, so the connection stays in step; a larger one is refused
// (413) and the connection closes.
constexpr uint64_t max_skipped_body_bytes = 64 * 1024;

// What the resolver (resolver.h) is opening, and why.
enum class ResolvePurpose : uint8_t {
  path,       // the request path itself: "/app.js", or "/docs" (a redirect if a directory)
  index,      // the next --index file of the directory a path ending in '/' names
  directory,  // every index missed: the directory itself, to tell 403 from 404
  sibling,    // a precompressed variant of the file found: "/app.js.br"
};

struct ResolveProgress {
  ResolvePurpose purpose = ResolvePurpose::path;
  uint8_t index_tried = 0;          // --index names tried so far
  uint8_t next_coding = 0;          // codings of coding_order looked at so far
  uint8_t coding_count = 0;         // codings the client accepts, ranked
  bool codings_ranked = false;
  std::array<uint8_t, 3> coding_order{};  // indices into --precompressed
  uint32_t key_length = 0;          // the cache key is scratch[0, key_length)
  uint32_t host_prefix_length = 0;  // --vhosts: "/host" before the request path
  int file_fd = -1;                 // opened, until the cache takes it
  // The docroot this resolution opens under, taken at its start.
  WorkerDocroot::Handle* root = nullptr;
};

// The sender's (sender.h) place in the plan, and its transport's
// (splice_transport.h) in the chain of operations queued for it.
struct SendProgress {
  uint8_t range_index = 0;        // the next range to queue
  bool closing_piece_sent = false;
  uint64_t body_offset = 0;       // of the range being sent
  uint64_t body_remaining = 0;
  uint32_t head_out_bytes = 0;    // what the pending SEND must report, or the SENDMSG asked
  uint32_t message_left = 0;      // bytes of a response from memory not sent yet
  uint32_t pipe_bytes = 0;        // spliced in, not yet out
  uint32_t splice_out_asked = 0;  // bytes the last SPLICE out asked for
  uint8_t chain_pending = 0;      // CQEs still due from the queued chain
  bool chain_failed = false;
  bool file_ended_early = false;  // the file shrank under us
  bool socket_full = false;       // the last SPLICE out was short, or EAGAIN
  bool bytes_out = false;         // some byte of this response reached the socket
  bool peer_left = false;         // a send failed with EPIPE or ECONNRESET
  bool waiting_for_pipe = false;  // in the sender's queue of pipe waiters
  bool first_in_line = false;     // taken off that queue: the next pipe is its
  bool batched = false;           // went into the batch: a later response carries it
  uint32_t chunk_limit = UINT32_MAX;  // what the socket can take now (socket_room), when pipes are scarce
  uring::Pipe* pipe = nullptr;    // borrowed for one chain at a time
  // TLS with records sealed in user space (tls_sender.h): where the plan
  // stands, in bytes put into records.
  uint32_t batch_done = 0;        // of the batch that goes first
  bool in_range = false;          // putting range `range_index` in, else the piece before it
  uint32_t piece_done = 0;        // of that piece
  uint32_t read_asked = 0;        // what the READ in flight was planned for
  uint32_t body_in_records = 0;   // body bytes in records not sent yet
  bool records_done = false;      // the whole response is in records
};

// What one request/response records as it goes. All of it is reset at once
// before the next request on the connection (by assignment, so a field
// added here cannot be forgotten); only scalars live here, so the reset is
// a few cache lines.
struct ExchangeProgress {
  bool request_parsed = false;  // request holds a whole head (else the log shows "-")
  uint32_t head_bytes = 0;      // of the request being answered
  uint32_t head_looked = 0;     // bytes of a head still arriving that were looked at
  // A chunked body being read (input.h): scanned and dropped as it comes,
  // behind the head, which stays where request's views point.
  bool reading_chunked_body = false;
  ChunkedBody chunked;
  const char* head_parsed_at = nullptr;  // where request's views point
  bool keep_alive = false;      // after this response
  bool head_only = false;       // HEAD: no body
  uint16_t status = 0;          // of the response, for the access log
  uint64_t body_bytes_sent = 0;
  // The answer found: the file asked for and, when a precompressed variant
  // serves in its place, that sibling. Each holds a cache reference.
  CacheEntry* entry = nullptr;
  CacheEntry* sibling = nullptr;
  uint8_t sibling_coding = 0;   // ContentCoding of `sibling`
  ResolveProgress resolve;
  SendProgress send;
};

// What a response needs while it is planned and sent.
struct ResponseSpace {
  SendPlan plan;
  iovec vectors[2 * max_ranges_limit + 1] = {};  // vectors[0]: the batch, when one goes first
  msghdr message = {};
  // Scratch: first the path to open, then the response head and part
  // headers (--max-uri plus room for the fixed fields and parts).
  std::unique_ptr<char[]> scratch;
  uint32_t scratch_capacity = 0;
};

// The small input buffer: a provided receive buffer's worth.
constexpr uint32_t small_input_bytes = 4096;

struct Exchange : ExchangeProgress {
  // Input: request bytes live in in[in_start, in_end); they outlive a
  // response when the client pipelined the next request.
  char* in = nullptr;
  uint32_t in_capacity = 0;
  uint32_t in_start = 0;
  uint32_t in_end = 0;
  bool large_input = false;  // `in` is a borrowed --max-header buffer
  // While answering: the response space, and its scratch area.
  ResponseSpace* space = nullptr;
  char* scratch = nullptr;
  uint32_t scratch_capacity = 0;
  // Pipelined responses from memory, whole, waiting to go out with the
  // next response that is not batched (response_batch.h). Outlives the
  // responses in it, so it is not part of ExchangeProgress.
  char* batch = nullptr;
  uint32_t batch_length = 0;
  uint32_t batch_responses = 0;

  // Work areas, each written in full before it is read, so not reset.
  Request request;
  open_how how{};
  struct statx stat_buffer{};

  SendPlan& plan() { return space->plan; }
  const SendPlan& plan() const { return space->plan; }
  // Ends the struct: the pool does not zero it, so pages of it that no
  // request reached are never touched.
  char small_input[small_input_bytes];
  // The entry whose bytes are sent: the sibling when one serves.
  CacheEntry& served() const { return sibling != nullptr ? *sibling : *entry; }
  std::string_view cache_key() const { return {scratch, resolve.key_length}; }
  void reset_for_next_request() { static_cast<ExchangeProgress&>(*this) = ExchangeProgress{}; }
};

}  // namespace ringhttpd
