#pragma once
// Finds what answers a request path: the open-file cache first (a stale
// file is revalidated with a STATX by path), else the disk: OPENAT2 under
// the docroot, STATX, and for a small file a READ of its bytes into the
// cache. A path ending in '/' walks the --index files, then checks the
// directory itself (403 from 404). A file found goes on to its
// precompressed siblings the client accepts. Every step is one purpose
// (exchange.resolve.purpose), and every completion hands back a
// ResolveStep: pending, or what was found.

#include <cstdint>

#include "cache/file_cache.h"
#include "conf/config.h"
#include "conf/mime_types.h"
#include "src/connection.h"
#include "src/docroot.h"
#include "src/fd_closer.h"
#include "src/loop_state.h"
#include "src/op.h"

namespace ringhttpd {

enum class ResolveOutcome : uint8_t {
  pending,  // an operation is queued; its completion goes on
  file,      // exchange.entry is the file (and exchange.sibling the variant to send, if any)
  redirect,  // a directory named without its slash: 301 to "name/"
  answer,    // no file: answer `status`
};

struct ResolveStep {
  ResolveOutcome outcome = ResolveOutcome::pending;
  uint16_t status = 0;
};

class Resolver {
 public:
  Resolver(unsigned worker, const Config& config, const MimeTypes& mime_types,
           WorkerDocroot& docroot, const LoopState& loop, OpQueue& ops, FileCache& cache,
           RingFdCloser& closer)
      : _worker(worker),
        _config(config),
        _mime_types(mime_types),
        _docroot(docroot),
        _loop(loop),
        _ops(ops),
        _cache(cache),
        _closer(closer) {}
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts from the cache key the router wrote (exchange.cache_key()).
  ResolveStep start(Connection& connection);

  ResolveStep on_revalidate(Connection& connection, int result);
  ResolveStep on_open(Connection& connection, int result);
  ResolveStep on_statx(Connection& connection, int result);
  ResolveStep on_read_body(Connection& connection, int result);

 private:
  ResolveStep found(Connection& connection, CacheEntry* entry);
  ResolveStep revalidate(Connection& connection, const CacheEntry& entry);
  ResolveStep from_disk(Connection& connection);
  ResolveStep next_index(Connection& connection);
  ResolveStep open(Connection& connection, const char* relative_path);
  ResolveStep remember_file(Connection& connection, const FileInfo& info);
  ResolveStep not_a_file(Connection& connection, const FileInfo& info);
  ResolveStep next_sibling(Connection& connection);
  ResolveStep sibling_done(Connection& connection, CacheEntry* sibling);
  void remember_answer(const Exchange& exchange, EntryKind kind, uint16_t status);
  // The directory fd of the resolution's docroot, counted as in use by one
  // more queued operation.
  int root_fd_for_op(Exchange& exchange);
  CacheEntry* insert_opened(Exchange& exchange, const FileInfo& info);

  unsigned _worker;
  const Config& _config;
  const MimeTypes& _mime_types;
  WorkerDocroot& _docroot;  // every open and revalidation is relative to it
  const LoopState& _loop;
  OpQueue& _ops;
  FileCache& _cache;
  RingFdCloser& _closer;
};

}  // namespace ringhttpd
