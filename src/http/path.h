#pragma once
// request-target -> the file path it names, relative to the docroot.
//
// Policy (also in README):
// - origin-form "/a/b?q" and absolute-form "http://host/a/b" are accepted;
//   the query is dropped; "*" and anything not starting with "/" is 400.
// - %XX is decoded once. A decoded NUL or control byte is 400; a malformed
//   escape is 400; the decoded bytes must be valid, shortest-form UTF-8
//   (overlong forms such as %c0%ae are 400).
// - An encoded slash (%2F) is decoded to "/" before normalisation, as nginx
//   does: a file name cannot contain "/", so it can only ever mean a separator,
//   and normalising afterwards means "..%2F" is just "../".
// - Empty and "." segments are removed; ".." removes the previous segment; a
//   ".." that would climb above the root is 400. Backslash is an ordinary byte
//   on Linux and is never a separator.
// The kernel then enforces the root again: files are opened with
// RESOLVE_BENEATH relative to the docroot fd.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringhttpd {

struct NormalizedPath {
  uint16_t error_status = 0;     // 0, or 400
  size_t length = 0;             // bytes written to out, starting with '/'
  bool trailing_slash = false;   // the target named a directory ("/a/", "/a/.")
};

// Writes the normalised path, NUL-terminated, into out. `capacity` must be at
// least target.size() + 2.
NormalizedPath normalize_target(std::string_view target, char* out, size_t capacity);

// The authority of an absolute-form target ("http://Host:80/a" -> "Host:80"),
// the scheme matched in any case; nullopt for origin-form.
std::optional<std::string_view> target_authority(std::string_view target);
// The path component of a request-target (no scheme, authority or query),
// still percent-encoded: what a relative redirect is built from.
std::string_view target_path(std::string_view target);
// The query component, with its leading '?', or empty.
std::string_view target_query(std::string_view target);

bool is_valid_utf8(std::string_view bytes);

// Does a normalised path have a segment starting with '.' (".git", ".env",
// ".htpasswd")? ".well-known" (RFC 8615) is not counted.
bool has_hidden_segment(std::string_view normalized_path);

}  // namespace ringhttpd
