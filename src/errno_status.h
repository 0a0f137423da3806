#pragma once
// The one mapping from a failed open/stat errno to an HTTP status.

#include <cerrno>
#include <cstdint>

namespace ringhttpd {

constexpr uint16_t status_for_errno(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      return 404;
    case EACCES:
    case EPERM:
    case ELOOP:   // RESOLVE_NO_SYMLINKS, or too many links
    case EXDEV:   // RESOLVE_BENEATH: the path left the docroot
      return 403;
    case EMFILE:
    case ENFILE:
    case EAGAIN:
      return 503;
    default:
      return 500;
  }
}

}  // namespace ringhttpd
