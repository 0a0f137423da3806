#include "conf/vhost_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include "conf/text.h"

namespace ringhttpd {

std::string_view HostListing::find(std::string_view host) const {
  if (auto named = directories.find(host); named != directories.end()) {
    return *named;
  }
  auto alias = aliases.find(host);
  return alias == aliases.end() ? std::string_view() : std::string_view(alias->second);
}

void VhostTable::rescan(int root_fd) {
  HostListing found;
  int listing = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (DIR* directory = listing >= 0 ? fdopendir(listing) : nullptr) {
    while (dirent* item = readdir(directory)) {
      std::string_view name = item->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      bool is_directory = item->d_type == DT_DIR;
      if (item->d_type == DT_UNKNOWN || item->d_type == DT_LNK) {
        struct stat st {};
        is_directory = fstatat(dirfd(directory), item->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
      }
      if (is_directory) {
        found.directories.emplace(name);
      }
    }
    closedir(directory);
  } else if (listing >= 0) {
    close(listing);
  }
  for (const std::string& name : found.directories) {
    std::string lowered = ascii_lowered(name);
    if (lowered != name && !found.directories.contains(lowered)) {
      found.aliases.emplace(lowered, name);  // an exact lower-case name wins
    }
  }
  std::lock_guard lock(_mutex);
  if (found.directories != _hosts.directories) {
    _hosts = std::move(found);
    _version.fetch_add(1, std::memory_order_release);
  }
}

HostSet VhostTable::snapshot() const {
  std::lock_guard lock(_mutex);
  return _hosts.directories;
}

HostListing VhostTable::listing() const {
  std::lock_guard lock(_mutex);
  return _hosts;
}

std::string_view host_directory(std::string_view host, char* out) {
  if (host.empty() || host.front() == '[' || host.size() > 253 + 6) {
    return {};
  }
  host = host.substr(0, host.find(':'));
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') {
    return {};
  }
  char previous = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = ascii_lower(host[i]);
    bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!allowed || (c == '.' && previous == '.')) {
      return {};
    }
    out[i] = c;
    previous = c;
  }
  return {out, host.size()};
}

}  // namespace ringhttpd
