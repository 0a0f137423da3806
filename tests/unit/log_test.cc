// The error log's lines: a syslog priority prefix only when stderr is the
// journal's stream (JOURNAL_STREAM names stderr's device and inode).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "src/log.h"

namespace ringhttpd {
namespace {

// stderr goes to a pipe for the test's life; what the log wrote is read back.
class StderrCapture {
 public:
  StderrCapture() {
    EXPECT_EQ(pipe2(_pipe, O_NONBLOCK), 0);
    _saved = dup(STDERR_FILENO);
    dup2(_pipe[1], STDERR_FILENO);
  }
  ~StderrCapture() {
    dup2(_saved, STDERR_FILENO);
    close(_saved);
    close(_pipe[0]);
    close(_pipe[1]);
    unsetenv("JOURNAL_STREAM");
    log_detect_journal();
  }
  std::string stream_id() const {
    struct stat err {};
    fstat(STDERR_FILENO, &err);
    return std::to_string(err.st_dev) + ":" + std::to_string(err.st_ino);
  }
  std::string text() const {
    char buffer[4096];
    ssize_t n = read(_pipe[0], buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  }

 private:
  int _pipe[2] = {-1, -1};
  int _saved = -1;
};

TEST(Log, LinesCarryTheirPriorityWhenStderrIsTheJournal) {
  StderrCapture capture;
  setenv("JOURNAL_STREAM", capture.stream_id().c_str(), 1);
  log_detect_journal();
  log_error("ringhttpd: --root: '%s': %s", "/x", "gone");
  log_warn("ringhttpd: warned");
  EXPECT_EQ(capture.text(), "<3>ringhttpd: --root: '/x': gone\n<4>ringhttpd: warned\n");
}

TEST(Log, NoPrefixWhenStderrIsNotTheJournal) {
  StderrCapture capture;
  log_detect_journal();
  log_error("ringhttpd: plain");
  EXPECT_EQ(capture.text(), "ringhttpd: plain\n");
  // The journal's stream id of another descriptor (stdin's) is not stderr's.
  struct stat in {};
  fstat(STDIN_FILENO, &in);
  setenv("JOURNAL_STREAM", (std::to_string(in.st_dev) + ":" + std::to_string(in.st_ino + 1)).c_str(), 1);
  log_detect_journal();
  log_error("ringhttpd: still plain");
  EXPECT_EQ(capture.text(), "ringhttpd: still plain\n");
}

}  // namespace
}  // namespace ringhttpd
