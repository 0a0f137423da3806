// The resolver against a real ring and a real directory: every completion
// it queues is waited for and handed back, as the loop does, until it says
// what it found.

#include "src/resolver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "src/exchange_pool.h"

namespace ringhttpd {
namespace {

namespace fs = std::filesystem;

struct ResolverFixture : ::testing::Test {
  ResolverFixture() {
    char pattern[] = "/tmp/ringhttpd-resolver-XXXXXX";
    root = mkdtemp(pattern);
    config.index_files = {"index.html", "index.htm"};
    write("a.txt", "hello");
    write("docs/index.htm", "docs index");
    fs::create_directories(root + "/empty");
    mkfifo((root + "/pipe").c_str(), 0644);
    docroot = std::make_unique<DocrootSource>(root);
    EXPECT_TRUE(docroot->open_initial());
    worker_docroot = std::make_unique<WorkerDocroot>(*docroot);
    loop.refresh_clock();
    connection.index = 0;
    connection.fd = -1;
    connection.enter(ConnectionState::reading);
    build(CacheLimits{}.valid_ms);
  }
  ~ResolverFixture() override {
    tear_down();
    fs::remove_all(root);
  }
  void build(int64_t valid_ms) {
    tear_down();
    CacheLimits limits;
    limits.valid_ms = valid_ms;
    cache = std::make_unique<FileCache>(limits, closer);
    exchanges = std::make_unique<ExchangePool>(4096, 4096, pipes, *cache, closer);
    resolver =
        std::make_unique<Resolver>(0, config, mime_types, *worker_docroot, loop, ops, *cache, closer);
  }
  void tear_down() {
    if (connection.exchange != nullptr) {
      exchanges->release(connection);
    }
    if (cache) {
      cache->clear();
    }
    resolver.reset();
    exchanges.reset();
    cache.reset();
  }
  void write(const std::string& relative, const std::string& contents, int64_t mtime = 0) {
    fs::path path = fs::path(root) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
    if (mtime != 0) {
      timespec times[2] = {{mtime, 0}, {mtime, 0}};
      utimensat(AT_FDCWD, path.c_str(), times, 0);
    }
  }

  // Routes `path` as the router would (no vhosts), then runs the resolver
  // to its end, counting the operations it needed.
  ResolveStep resolve(const std::string& path, std::string_view accept_encoding = {}) {
    if (connection.exchange != nullptr) {
      exchanges->release(connection);
    }
    connection.state = ConnectionState::reading;  // a new request on the connection
    Exchange& exchange = exchanges->acquire(connection);
    exchanges->take_response_space(exchange);
    exchange.request.accept_encoding = accept_encoding;
    std::memcpy(exchange.scratch, path.c_str(), path.size() + 1);
    exchange.resolve.key_length = static_cast<uint32_t>(path.size());
    exchange.resolve.purpose = path.ends_with('/') ? ResolvePurpose::index : ResolvePurpose::path;
    operations = 0;
    ResolveStep step = resolver->start(connection);
    while (step.outcome == ResolveOutcome::pending) {
      EXPECT_EQ(connection.in_flight, 1u);
      step = complete_one();
    }
    EXPECT_EQ(connection.in_flight, 0u);
    EXPECT_EQ(exchange.resolve.file_fd, -1);  // the cache took it, or it was closed
    return step;
  }
  ResolveStep complete_one() {
    io_uring_submit(ring.raw());
    io_uring_cqe* cqe = nullptr;
    EXPECT_EQ(io_uring_wait_cqe(ring.raw(), &cqe), 0);
    uring::Tag tag = uring::decode(cqe->user_data);
    int result = cqe->res;
    io_uring_cqe_seen(ring.raw(), cqe);
    if (!op_info(static_cast<Op>(tag.op)).per_connection) {
      return {};  // a detached CLOSE
    }
    --connection.in_flight;
    ++operations;
    switch (static_cast<Op>(tag.op)) {
      case Op::revalidate: return resolver->on_revalidate(connection, result);
      case Op::open: return resolver->on_open(connection, result);
      case Op::statx: return resolver->on_statx(connection, result);
      case Op::read_body: return resolver->on_read_body(connection, result);
      default:
        ADD_FAILURE() << "the resolver queued op " << int(tag.op);
        return {ResolveOutcome::answer, 0};
    }
  }
  Exchange& exchange() { return *connection.exchange; }

  std::string root;
  std::unique_ptr<DocrootSource> docroot;
  std::unique_ptr<WorkerDocroot> worker_docroot;
  Config config;
  MimeTypes mime_types;
  LoopState loop;
  uring::Ring ring;
  OpQueue ops{ring};
  RingFdCloser closer{ops};
  uring::PipePool pipes{65536};
  std::unique_ptr<FileCache> cache;
  std::unique_ptr<ExchangePool> exchanges;
  std::unique_ptr<Resolver> resolver;
  Connection connection;
  int operations = 0;
};

TEST_F(ResolverFixture, AFileIsOpenedOnceThenServedFromTheCache) {
  ResolveStep step = resolve("/a.txt");
  ASSERT_EQ(step.outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 3);  // OPENAT2, STATX, READ of the small body
  EXPECT_EQ(exchange().entry->resolved_path, "a.txt");
  EXPECT_EQ(exchange().entry->content_type, "text/plain");
  EXPECT_TRUE(exchange().entry->body_ready);
  EXPECT_EQ(std::string(exchange().entry->body.get(), 5), "hello");
  step = resolve("/a.txt");
  ASSERT_EQ(step.outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 0);  // fresh in the cache: no I/O at all
}

TEST_F(ResolverFixture, DirectoriesIndexesAndMisses) {
  EXPECT_EQ(resolve("/docs").outcome, ResolveOutcome::redirect);
  EXPECT_EQ(resolve("/docs").outcome, ResolveOutcome::redirect);  // remembered
  EXPECT_EQ(operations, 0);
  ResolveStep index = resolve("/docs/");
  ASSERT_EQ(index.outcome, ResolveOutcome::file);
  EXPECT_EQ(exchange().entry->resolved_path, "docs/index.htm");  // index.html missed first
  EXPECT_EQ(operations, 4);  // two opens, a STATX, a READ
  ResolveStep empty = resolve("/empty/");
  EXPECT_EQ(empty.outcome, ResolveOutcome::answer);
  EXPECT_EQ(empty.status, 403);  // exists, no index
  ResolveStep missing = resolve("/missing/");
  EXPECT_EQ(missing.status, 404);
  ResolveStep missing_file = resolve("/nothing.txt");
  EXPECT_EQ(missing_file.status, 404);
  EXPECT_EQ(resolve("/nothing.txt").status, 404);
  EXPECT_EQ(operations, 0);  // a flood of misses stays in the cache
  EXPECT_EQ(resolve("/a.txt/").status, 404);  // a file named as a directory
}

TEST_F(ResolverFixture, AFifoIsRefusedWithoutWaitingForAWriter) {
  ResolveStep step = resolve("/pipe");
  EXPECT_EQ(step.outcome, ResolveOutcome::answer);
  EXPECT_EQ(step.status, 403);
}

TEST_F(ResolverFixture, TheFirstCurrentAcceptedSiblingServes) {
  write("app.js", std::string(100, 'j'), 1'000'000);
  write("app.js.br", "old br", 999'000);       // older than the file: never served
  write("app.js.gz", "gzipped", 1'000'001);
  ResolveStep step = resolve("/app.js", "br, gzip");
  ASSERT_EQ(step.outcome, ResolveOutcome::file);
  ASSERT_NE(exchange().sibling, nullptr);
  EXPECT_EQ(exchange().sibling->resolved_path, "app.js.gz");
  EXPECT_EQ(exchange().sibling_coding, static_cast<uint8_t>(ContentCoding::gzip));
  EXPECT_EQ(exchange().served().info.size, 7u);
  step = resolve("/app.js", "br, gzip");
  EXPECT_EQ(operations, 0);  // file and both siblings remembered
  EXPECT_EQ(exchange().sibling->resolved_path, "app.js.gz");
  step = resolve("/app.js", "zstd");
  ASSERT_EQ(step.outcome, ResolveOutcome::file);
  EXPECT_EQ(exchange().sibling, nullptr);  // no .zst: the file itself
  EXPECT_EQ(resolve("/app.js", "zstd").outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 0);  // the missing .zst is remembered too
  step = resolve("/app.js");
  EXPECT_EQ(exchange().sibling, nullptr);  // no Accept-Encoding
}

TEST_F(ResolverFixture, AStaleFileIsRevalidatedAndAChangedOneReopened) {
  build(0);  // every entry is stale at once
  ASSERT_EQ(resolve("/a.txt").outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 3);
  ASSERT_EQ(resolve("/a.txt").outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 1);  // one STATX by path: the same file
  write("a.txt", "hello, again");
  ASSERT_EQ(resolve("/a.txt").outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 4);  // STATX, then OPENAT2, STATX, READ of the new version
  EXPECT_EQ(std::string(exchange().entry->body.get(), exchange().entry->info.size), "hello, again");
  fs::remove(root + "/a.txt");
  EXPECT_EQ(resolve("/a.txt").status, 404);
}

TEST_F(ResolverFixture, AStaleSiblingIsRevalidatedLikeAnyFile) {
  build(0);  // every entry is stale at once
  write("app.js", std::string(100, 'j'), 1'000'000);
  write("app.js.gz", "gzipped", 1'000'001);
  ASSERT_EQ(resolve("/app.js", "gzip").outcome, ResolveOutcome::file);
  ASSERT_NE(exchange().sibling, nullptr);
  ASSERT_EQ(resolve("/app.js", "gzip").outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 2);  // one STATX for the file, one for its sibling: nothing reopened
  ASSERT_NE(exchange().sibling, nullptr);
  EXPECT_EQ(exchange().sibling->resolved_path, "app.js.gz");
  write("app.js.gz", "gzipped again", 1'000'002);
  ASSERT_EQ(resolve("/app.js", "gzip").outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 5);  // the changed sibling: STATX, then OPENAT2, STATX, READ
  EXPECT_EQ(exchange().served().info.size, 13u);
}

TEST_F(ResolverFixture, ASiblingThatIsNotAFileIsRemembered) {
  write("pic.png", "png");
  fs::create_directories(root + "/pic.png.br");
  mkfifo((root + "/pic.png.gz").c_str(), 0644);
  ASSERT_EQ(resolve("/pic.png", "br, gzip").outcome, ResolveOutcome::file);
  EXPECT_EQ(exchange().sibling, nullptr);
  ASSERT_EQ(resolve("/pic.png", "br, gzip").outcome, ResolveOutcome::file);
  EXPECT_EQ(operations, 0);  // neither the directory nor the FIFO is opened again
}

}  // namespace
}  // namespace ringhttpd
