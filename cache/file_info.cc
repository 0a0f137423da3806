#include "cache/file_info.h"

namespace ringhttpd {
namespace {

size_t put_hex(uint64_t value, char* out) {
  char digits[16];
  size_t count = 0;
  do {
    digits[count++] = "0123456789abcdef"[value & 0xf];
    value >>= 4;
  } while (value != 0);
  for (size_t i = 0; i < count; ++i) {
    out[i] = digits[count - 1 - i];
  }
  return count;
}

}  // namespace

FileInfo FileInfo::from_statx(const struct statx& st) {
  FileInfo info;
  info.size = st.stx_size;
  info.mtime_sec = st.stx_mtime.tv_sec;
  info.mtime_nsec = st.stx_mtime.tv_nsec;
  info.inode = st.stx_ino;
  info.device_major = st.stx_dev_major;
  info.device_minor = st.stx_dev_minor;
  info.mode = st.stx_mode;
  return info;
}

size_t format_etag(const FileInfo& info, char* out) {
  size_t length = 0;
  out[length++] = '"';
  length += put_hex(static_cast<uint64_t>(info.mtime_sec), out + length);
  out[length++] = '.';
  length += put_hex(info.mtime_nsec, out + length);
  out[length++] = '-';
  length += put_hex(info.size, out + length);
  out[length++] = '"';
  return length;
}

}  // namespace ringhttpd
