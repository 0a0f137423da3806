#pragma once
// The docroot every open is relative to, and how a deploy swaps it.
//
// DocrootSource (the process's): opens --root, and opens it anew on
// SIGHUP, or when the path names another directory than the one open (the
// symlink `current -> releases/N` renamed over, or `mv www.new www`); each
// new directory is published with a new version.
//
// WorkerDocroot (one per worker): takes the newest directory on its tick.
// An OPENAT2 or STATX resolves its directory fd when it runs, not when it
// is queued (uring/KERNEL.md, "Splices resolve descriptors late" holds for
// every fd), so a directory stays open while any operation queued under it
// is in flight; responses under way finish from the old tree.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>

namespace ringhttpd {

// One opened docroot directory: closed when its last holder lets go.
struct DocrootDirectory {
  DocrootDirectory(int opened_fd, dev_t st_device, ino_t st_inode)
      : fd(opened_fd), device(st_device), inode(st_inode) {}
  ~DocrootDirectory();
  DocrootDirectory(const DocrootDirectory&) = delete;
  DocrootDirectory& operator=(const DocrootDirectory&) = delete;

  const int fd;  // O_PATH | O_DIRECTORY
  const dev_t device;
  const ino_t inode;
};

class DocrootSource {
 public:
  explicit DocrootSource(std::string path) : _path(std::move(path)) {}

  // Opens the path; false with errno set when it cannot be opened.
  bool open_initial();
  // SIGHUP (force), or the periodic check: the path is opened anew when
  // forced or when it names another directory than the open one. True when
  // a new directory was published.
  bool refresh(bool force);
  uint64_t version() const { return _version.load(std::memory_order_acquire); }
  std::shared_ptr<const DocrootDirectory> current() const;
  // The current directory and its version, read together.
  std::shared_ptr<const DocrootDirectory> current(uint64_t& version) const;
  const std::string& path() const { return _path; }

 private:
  std::shared_ptr<const DocrootDirectory> open_path() const;
  // Makes `opened` the current directory, with a new version; false when null.
  bool publish(std::shared_ptr<const DocrootDirectory> opened);

  std::string _path;
  mutable std::mutex _mutex;
  std::shared_ptr<const DocrootDirectory> _current;
  std::atomic<uint64_t> _version{0};
};

// A worker's docroot: the current directory, and the ones a swap retired
// while operations queued under them are still in flight.
class WorkerDocroot {
 public:
  struct Handle {
    std::shared_ptr<const DocrootDirectory> directory;
    uint32_t ops_in_flight = 0;
  };

  explicit WorkerDocroot(const DocrootSource& source);

  // On the tick: true when a newer directory was taken (the caller's cache
  // holds paths under the old one, so it is emptied). Retired directories
  // with nothing in flight are let go.
  bool refresh();
  Handle& current() { return *_current; }
  // Around each operation whose path is relative to a handle's directory.
  static void op_queued(Handle& handle) { ++handle.ops_in_flight; }
  static void op_completed(Handle& handle);
  size_t retired() const { return _handles.size() - 1; }

 private:
  const DocrootSource& _source;
  uint64_t _version = 0;
  std::list<Handle> _handles;  // stable addresses: exchanges point at them
  Handle* _current = nullptr;
};

}  // namespace ringhttpd
