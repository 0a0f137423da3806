// The docroot a deploy swaps: opened anew when the path names another
// directory, and an old one kept open while an operation queued under it
// is in flight.

#include "src/docroot.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace ringhttpd {
namespace {

namespace fs = std::filesystem;

struct DocrootFixture : ::testing::Test {
  DocrootFixture() {
    char pattern[] = "/tmp/ringhttpd-docroot-XXXXXX";
    base = mkdtemp(pattern);
    fs::create_directories(base + "/releases/1");
    fs::create_directories(base + "/releases/2");
    point("releases/1");
  }
  ~DocrootFixture() override { fs::remove_all(base); }
  void point(const std::string& target) {
    fs::remove(base + "/current.new");
    fs::create_directory_symlink(target, base + "/current.new");
    fs::rename(base + "/current.new", base + "/current");
  }
  std::string base;
};

TEST_F(DocrootFixture, APathNamingAnotherDirectoryIsOpenedAnew) {
  DocrootSource source(base + "/current");
  ASSERT_TRUE(source.open_initial());
  uint64_t first = source.version();
  EXPECT_FALSE(source.refresh(false));  // the same directory
  EXPECT_EQ(source.version(), first);
  point("releases/2");
  EXPECT_TRUE(source.refresh(false));
  EXPECT_GT(source.version(), first);
  struct stat st {};
  ASSERT_EQ(stat((base + "/releases/2").c_str(), &st), 0);
  EXPECT_EQ(source.current()->inode, st.st_ino);
  EXPECT_TRUE(source.refresh(true));  // SIGHUP opens it anew whatever it names
  fs::remove(base + "/current");
  EXPECT_FALSE(source.refresh(false));  // gone for a moment: the open one keeps serving
  EXPECT_NE(source.current(), nullptr);
}

TEST_F(DocrootFixture, AnOldDirectoryStaysOpenWhileAnOperationUnderItIsInFlight) {
  DocrootSource source(base + "/current");
  ASSERT_TRUE(source.open_initial());
  WorkerDocroot worker(source);
  WorkerDocroot::Handle& old_root = worker.current();
  int old_fd = old_root.directory->fd;
  WorkerDocroot::op_queued(old_root);  // an OPENAT2 under releases/1, not completed yet
  point("releases/2");
  ASSERT_TRUE(source.refresh(false));
  EXPECT_TRUE(worker.refresh());  // the caller empties its cache
  EXPECT_NE(&worker.current(), &old_root);
  EXPECT_EQ(worker.retired(), 1u);
  EXPECT_GE(fcntl(old_fd, F_GETFD), 0);  // still open: the queued open resolves it later
  WorkerDocroot::op_completed(old_root);
  EXPECT_FALSE(worker.refresh());
  EXPECT_EQ(worker.retired(), 0u);
  // The source still holds nothing of releases/1 either: the fd is closed.
  EXPECT_EQ(fcntl(old_fd, F_GETFD), -1);
}

}  // namespace
}  // namespace ringhttpd
