#pragma once
// Extension -> Content-Type. Loaded once at start-up from a mime.types file
// (Debian's /etc/mime.types, package media-types) on top of a built-in table,
// so modern types (wasm, webp, avif, woff2, mjs) resolve even without it.
// lookup() is on the request path: no allocation, case-insensitive.

#include <string>
#include <string_view>
#include <unordered_map>

#include "conf/text.h"

namespace ringhttpd {

class MimeTypes {
 public:
  static constexpr std::string_view default_type = "application/octet-stream";

  MimeTypes();  // the built-in table only

  // Adds every "type ext ext ..." line of a mime.types file; a file entry
  // overrides the built-in one. Returns false when the file cannot be read.
  bool load_file(const std::string& path);
  // Adds or replaces one mapping ("html" -> "text/html").
  void set(std::string_view extension, std::string_view type);

  // Content-Type for a path (or bare file name): by the extension after the
  // last dot of the last segment; default_type when unknown or none.
  std::string_view lookup(std::string_view path) const;
  size_t size() const { return _by_extension.size(); }

 private:
  std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> _by_extension;
};

}  // namespace ringhttpd
