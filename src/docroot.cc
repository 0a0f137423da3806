#include "src/docroot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>

namespace ringhttpd {

DocrootDirectory::~DocrootDirectory() { close(fd); }

std::shared_ptr<const DocrootDirectory> DocrootSource::open_path() const {
  int fd = open(_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0) {
    return nullptr;
  }
  if (fstat(fd, &st) != 0) {
    close(fd);
    return nullptr;
  }
  return std::make_shared<const DocrootDirectory>(fd, st.st_dev, st.st_ino);
}

bool DocrootSource::publish(std::shared_ptr<const DocrootDirectory> opened) {
  if (!opened) {
    return false;
  }
  std::lock_guard lock(_mutex);
  _current = std::move(opened);
  _version.fetch_add(1, std::memory_order_release);
  return true;
}

bool DocrootSource::open_initial() { return publish(open_path()); }

bool DocrootSource::refresh(bool force) {
  if (!force) {
    struct stat st {};
    std::shared_ptr<const DocrootDirectory> now = current();
    if (stat(_path.c_str(), &st) != 0 || (st.st_dev == now->device && st.st_ino == now->inode)) {
      return false;  // the same directory (or, for a moment, none: keep serving the old one)
    }
  }
  return publish(open_path());
}

std::shared_ptr<const DocrootDirectory> DocrootSource::current() const {
  std::lock_guard lock(_mutex);
  return _current;
}

std::shared_ptr<const DocrootDirectory> DocrootSource::current(uint64_t& version) const {
  std::lock_guard lock(_mutex);
  version = _version.load(std::memory_order_relaxed);
  return _current;
}

WorkerDocroot::WorkerDocroot(const DocrootSource& source) : _source(source) {
  _handles.push_back({source.current(_version), 0});
  _current = &_handles.back();
}

bool WorkerDocroot::refresh() {
  for (auto handle = _handles.begin(); handle != _handles.end();) {
    auto next = std::next(handle);
    if (&*handle != _current && handle->ops_in_flight == 0) {
      _handles.erase(handle);
    }
    handle = next;
  }
  if (_source.version() == _version) {
    return false;
  }
  _handles.push_back({_source.current(_version), 0});
  _current = &_handles.back();
  return true;
}

void WorkerDocroot::op_completed(Handle& handle) {
  assert(handle.ops_in_flight > 0);
  --handle.ops_in_flight;
}

}  // namespace ringhttpd
