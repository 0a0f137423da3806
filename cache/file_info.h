#pragma once
// What the server knows of one opened file: the statx fields that decide its
// headers and its validity, and the strong validator derived from them.

#include <linux/stat.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringhttpd {

struct FileInfo {
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint64_t inode = 0;
  uint32_t device_major = 0;
  uint32_t device_minor = 0;
  uint16_t mode = 0;  // type and permission bits, as stx_mode

  bool is_regular() const { return S_ISREG(mode); }
  bool is_directory() const { return S_ISDIR(mode); }
  // Same file, same content (the recheck nginx's open_file_cache does).
  bool same_version(const FileInfo& other) const {
    return inode == other.inode && device_major == other.device_major &&
           device_minor == other.device_minor && size == other.size &&
           mtime_sec == other.mtime_sec && mtime_nsec == other.mtime_nsec;
  }

  static FileInfo from_statx(const struct statx& st);
};

// Strong ETag from mtime (with nanoseconds) and size: "<sec>.<nsec>-<size>"
// in hex, quoted. A rewrite within the same second still changes it.
constexpr size_t etag_max_bytes = 2 + 16 + 1 + 8 + 1 + 16;
size_t format_etag(const FileInfo& info, char* out);

}  // namespace ringhttpd
