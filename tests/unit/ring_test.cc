// Tests of the uring/ toolkit against the real kernel. They pin down the
// kernel behaviours the worker relies on, so a kernel that changes them
// fails here first.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "uring/buffer_ring.h"
#include "uring/pipe_pool.h"
#include "uring/ring.h"
#include "uring/user_data.h"

namespace ringhttpd::uring {
namespace {

io_uring_cqe wait_one(Ring& ring) {
  io_uring_cqe* cqe = nullptr;
  int result = io_uring_wait_cqe(ring.raw(), &cqe);
  EXPECT_EQ(result, 0);
  io_uring_cqe copy = *cqe;
  io_uring_cqe_seen(ring.raw(), cqe);
  return copy;
}

std::string temp_file(const std::string& contents) {
  char path[] = "/tmp/ringhttpd-ring-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_EQ(write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
  close(fd);
  return path;
}

TEST(UserData, RoundTrips) {
  Tag tag{7, 0x123456, 0xFFFFFFFE};
  Tag back = decode(encode(tag));
  EXPECT_EQ(back.op, 7);
  EXPECT_EQ(back.generation, 0x123456u);
  EXPECT_EQ(back.slot, 0xFFFFFFFEu);
  EXPECT_EQ(decode(encode({1, 0x1000000, 2})).generation, 0u);  // wraps at 24 bits
}

// The kernel's version from uname: {major, minor}.
std::pair<int, int> kernel_version() {
  utsname name{};
  uname(&name);
  int major = 0;
  int minor = 0;
  std::sscanf(name.release, "%d.%d", &major, &minor);
  return {major, minor};
}

TEST(Ring, UsesDeferTaskrunWhereAvailable) {
  Ring ring;
  // 6.1+ kernels take SINGLE_ISSUER|DEFER_TASKRUN; 5.19 and 6.0 fall back
  // to COOP_TASKRUN (uring/KERNEL.md, "Task-run flags").
  if (kernel_version() >= std::pair<int, int>{6, 1}) {
    EXPECT_TRUE(ring.defer_taskrun());
    EXPECT_TRUE(ring.setup_flags() & IORING_SETUP_SINGLE_ISSUER);
  } else {
    EXPECT_FALSE(ring.defer_taskrun());
    EXPECT_TRUE(ring.setup_flags() & IORING_SETUP_COOP_TASKRUN);
  }
  ring.require_opcodes({IORING_OP_NOP});
}

TEST(Ring, StatxMatchesTheSyscall) {
  std::string path = temp_file(std::string(12345, 'x'));
  int fd = open(path.c_str(), O_RDONLY);
  Ring ring;
  struct statx ours {};
  io_uring_prep_statx(ring.get_sqe(), fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &ours);
  ring.submit();
  EXPECT_EQ(wait_one(ring).res, 0);
  struct statx reference {};
  ASSERT_EQ(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &reference), 0);
  EXPECT_EQ(ours.stx_size, 12345u);
  EXPECT_EQ(ours.stx_ino, reference.stx_ino);
  EXPECT_EQ(ours.stx_mtime.tv_sec, reference.stx_mtime.tv_sec);
  EXPECT_EQ(ours.stx_mtime.tv_nsec, reference.stx_mtime.tv_nsec);
  close(fd);
  unlink(path.c_str());
}

TEST(Ring, FullSubmissionQueueSubmitsInsteadOfFailing) {
  RingOptions tiny;
  tiny.sq_entries = 4;
  tiny.cq_entries = 256;
  Ring ring(tiny);
  for (int i = 0; i < 100; ++i) {
    io_uring_sqe* sqe = ring.get_sqe();
    ASSERT_NE(sqe, nullptr);
    io_uring_prep_nop(sqe);
    sqe->user_data = static_cast<uint64_t>(i);
  }
  ring.submit();
  uint64_t seen = 0;
  while (seen < 100) {
    io_uring_cqe* cqe = nullptr;
    ASSERT_EQ(io_uring_wait_cqe(ring.raw(), &cqe), 0);
    seen += ring.drain_completions([](const io_uring_cqe*) {});
  }
  EXPECT_EQ(seen, 100u);
}

TEST(Ring, ReserveKeepsAChainInOneSubmission) {
  RingOptions tiny;
  tiny.sq_entries = 4;
  Ring ring(tiny);
  for (int i = 0; i < 3; ++i) {
    io_uring_prep_nop(ring.get_sqe());
  }
  ring.reserve(3);  // only 1 slot left: submits the 3 queued first
  EXPECT_GE(io_uring_sq_space_left(ring.raw()), 3u);
}

TEST(BufferRing, RecvPicksAProvidedBufferAndRunsOutWithEnobufs) {
  Ring ring;
  BufferRing buffers(ring, 3, 2, 64);
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  auto queue_recv = [&] {
    io_uring_sqe* sqe = ring.get_sqe();
    io_uring_prep_recv(sqe, pair[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers.group_id();
  };
  uint16_t used[2];
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(write(pair[1], "hello", 5), 5);
    queue_recv();
    ring.submit();
    io_uring_cqe cqe = wait_one(ring);
    ASSERT_EQ(cqe.res, 5);
    ASSERT_TRUE(BufferRing::has_buffer(&cqe));
    used[i] = BufferRing::buffer_id(&cqe);
    EXPECT_EQ(std::memcmp(buffers.buffer(used[i]), "hello", 5), 0);
  }
  EXPECT_NE(used[0], used[1]);
  ASSERT_EQ(write(pair[1], "again", 5), 5);
  queue_recv();
  ring.submit();
  EXPECT_EQ(wait_one(ring).res, -ENOBUFS);  // both buffers still held
  buffers.recycle(used[0]);
  queue_recv();
  ring.submit();
  io_uring_cqe cqe = wait_one(ring);
  EXPECT_EQ(cqe.res, 5);
  EXPECT_EQ(BufferRing::buffer_id(&cqe), used[0]);
  close(pair[0]);
  close(pair[1]);
}

// uring/KERNEL.md, "Short splices break links": a splice that moves fewer bytes than asked breaks its link.
// The send chain's short-count handling depends on exactly this.
TEST(Splice, ShortSpliceBreaksTheLink) {
  std::string path = temp_file(std::string(100, 'a'));
  int file = open(path.c_str(), O_RDONLY);
  PipePool pool(65536);
  Pipe* pipe = pool.acquire();
  ASSERT_NE(pipe, nullptr);
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  Ring ring;
  io_uring_sqe* in = ring.get_sqe();
  io_uring_prep_splice(in, file, 0, pipe->write_fd, -1, 1000, 0);
  in->flags |= IOSQE_IO_LINK;
  in->user_data = 1;
  io_uring_sqe* out = ring.get_sqe();
  io_uring_prep_splice(out, pipe->read_fd, -1, pair[1], -1, 1000, 0);
  out->user_data = 2;
  ring.submit();
  io_uring_cqe first = wait_one(ring);
  io_uring_cqe second = wait_one(ring);
  if (first.user_data == 2) {
    std::swap(first, second);
  }
  EXPECT_EQ(first.res, 100);
  EXPECT_EQ(second.res, -ECANCELED);
  pool.release(pipe, false);  // it still holds the 100 bytes
  EXPECT_EQ(pool.created(), 0u);
  close(pair[0]);
  close(pair[1]);
  close(file);
  unlink(path.c_str());
}

TEST(PipePool, ReusesEmptyPipesAndSizesThem) {
  PipePool pool(256 * 1024, 2);
  EXPECT_EQ(pool.created(), 2u);
  EXPECT_EQ(pool.idle(), 2u);
  Pipe* a = pool.acquire();
  Pipe* b = pool.acquire();
  Pipe* c = pool.acquire();
  EXPECT_EQ(pool.created(), 3u);
  EXPECT_GE(a->capacity_bytes, 4096u);
  EXPECT_LE(a->capacity_bytes, 256u * 1024);
  pool.release(a, true);
  EXPECT_EQ(pool.acquire(), a);
  pool.release(b, true);
  pool.release(c, true);
  pool.release(a, true);
  EXPECT_EQ(pool.idle(), 3u);
}

TEST(PipePool, LargeBodiesBorrowAnEnlargedPipeWithinTheAllowance) {
  constexpr uint32_t base = 256 * 1024;
  constexpr uint32_t large = 1024 * 1024;
  PipePool pool(base, 0, {large, large, 1});
  Pipe* small_body = pool.acquire(100 * 1024);
  EXPECT_FALSE(small_body->grown);
  EXPECT_EQ(small_body->capacity_bytes, base);
  Pipe* exactly_large = pool.acquire(large);  // not above the threshold
  EXPECT_FALSE(exactly_large->grown);
  Pipe* first = pool.acquire(8 * 1024 * 1024);
  ASSERT_TRUE(first->grown) << "F_SETPIPE_SZ to 1 MiB refused (pipe budget spent?)";
  EXPECT_EQ(first->capacity_bytes, large);
  EXPECT_EQ(fcntl(first->write_fd, F_GETPIPE_SZ), static_cast<int>(large));
  EXPECT_EQ(pool.grown(), 1u);
  Pipe* second = pool.acquire(8 * 1024 * 1024);  // the allowance is one
  EXPECT_FALSE(second->grown);
  EXPECT_EQ(second->capacity_bytes, base);

  // Released empty, it shrinks back: the budget is not held by idle pipes.
  pool.release(first, true);
  EXPECT_EQ(pool.grown(), 0u);
  EXPECT_FALSE(first->grown);
  EXPECT_EQ(first->capacity_bytes, base);
  EXPECT_EQ(fcntl(first->write_fd, F_GETPIPE_SZ), static_cast<int>(base));

  // Released holding bytes (an aborted response), it is closed, and its
  // place in the allowance is free again.
  Pipe* again = pool.acquire(64 * 1024 * 1024);
  ASSERT_TRUE(again->grown);
  ASSERT_EQ(write(again->write_fd, "x", 1), 1);
  size_t created = pool.created();
  pool.release(again, false);
  EXPECT_EQ(pool.created(), created - 1);
  EXPECT_EQ(pool.grown(), 0u);
  pool.release(small_body, true);
  pool.release(exactly_large, true);
  pool.release(second, true);
}

TEST(PipePool, NoGrowthWhenThePipesAreAlreadyThatLarge) {
  PipePool pool(1024 * 1024, 0, {1024 * 1024, 1024 * 1024, 4});
  Pipe* pipe = pool.acquire(64 * 1024 * 1024);
  EXPECT_FALSE(pipe->grown);
  EXPECT_EQ(pool.grown(), 0u);
  pool.release(pipe, true);
}

TEST(PipePool, NeverHoldsMoreThanItsBound) {
  PipePool pool(65536, 0, {}, 3);
  Pipe* lent[3];
  for (Pipe*& pipe : lent) {
    ASSERT_TRUE(pool.available());
    pipe = pool.acquire();
    ASSERT_NE(pipe, nullptr);
  }
  EXPECT_FALSE(pool.available());
  EXPECT_EQ(pool.acquire(), nullptr);  // the response waits instead
  EXPECT_EQ(pool.created(), 3u);
  pool.release(lent[1], true);
  EXPECT_TRUE(pool.available());
  EXPECT_EQ(pool.acquire(), lent[1]);
  // A pipe closed (it held bytes) makes room for a new one.
  pool.release(lent[0], false);
  EXPECT_EQ(pool.created(), 2u);
  EXPECT_NE(pool.acquire(), nullptr);
  EXPECT_EQ(pool.created(), 3u);
}

TEST(PipePool, TrimClosesOnlyPipesIdleSinceTheLastTrim) {
  PipePool pool(65536, 0, {}, 16);
  std::vector<Pipe*> lent;
  for (int i = 0; i < 10; ++i) {
    lent.push_back(pool.acquire());
  }
  for (Pipe* pipe : lent) {
    pool.release(pipe, true);
  }
  pool.trim(2);  // the first trim only starts the interval: all were lent in it
  EXPECT_EQ(pool.created(), 10u);
  // Three lent and returned during the next interval: seven stayed idle
  // throughout, and of those all but the two kept go.
  Pipe* a = pool.acquire();
  Pipe* b = pool.acquire();
  Pipe* c = pool.acquire();
  pool.release(a, true);
  pool.release(b, true);
  pool.release(c, true);
  pool.trim(2);
  EXPECT_EQ(pool.created(), 5u);
  EXPECT_EQ(pool.idle(), 5u);
  pool.trim(2);  // nothing lent since: down to what is kept
  EXPECT_EQ(pool.created(), 2u);
  pool.trim(2);
  EXPECT_EQ(pool.created(), 2u);
}

}  // namespace
}  // namespace ringhttpd::uring
