#include "conf/mime_types.h"

#include <array>
#include <fstream>
#include <sstream>

#include "conf/text.h"

namespace ringhttpd {
namespace {

struct BuiltinType {
  std::string_view extension;
  std::string_view type;
};

// The types a static origin serves most, including the modern ones that old
// mime.types files lack.
constexpr std::array builtin_types{
    BuiltinType{"html", "text/html"},          BuiltinType{"htm", "text/html"},
    BuiltinType{"css", "text/css"},            BuiltinType{"js", "text/javascript"},
    BuiltinType{"mjs", "text/javascript"},     BuiltinType{"json", "application/json"},
    BuiltinType{"map", "application/json"},    BuiltinType{"txt", "text/plain"},
    BuiltinType{"xml", "application/xml"},     BuiltinType{"svg", "image/svg+xml"},
    BuiltinType{"png", "image/png"},           BuiltinType{"jpg", "image/jpeg"},
    BuiltinType{"jpeg", "image/jpeg"},         BuiltinType{"gif", "image/gif"},
    BuiltinType{"webp", "image/webp"},         BuiltinType{"avif", "image/avif"},
    BuiltinType{"ico", "image/vnd.microsoft.icon"},
    BuiltinType{"wasm", "application/wasm"},   BuiltinType{"woff", "font/woff"},
    BuiltinType{"woff2", "font/woff2"},        BuiltinType{"ttf", "font/ttf"},
    BuiltinType{"otf", "font/otf"},            BuiltinType{"pdf", "application/pdf"},
    BuiltinType{"zip", "application/zip"},     BuiltinType{"gz", "application/gzip"},
    BuiltinType{"mp4", "video/mp4"},           BuiltinType{"webm", "video/webm"},
    BuiltinType{"mp3", "audio/mpeg"},          BuiltinType{"m3u8", "application/vnd.apple.mpegurl"},
    BuiltinType{"ts", "video/mp2t"},           BuiltinType{"mpd", "application/dash+xml"},
};

constexpr size_t max_extension_bytes = 32;

}  // namespace

MimeTypes::MimeTypes() {
  for (const BuiltinType& entry : builtin_types) {
    set(entry.extension, entry.type);
  }
}

void MimeTypes::set(std::string_view extension, std::string_view type) {
  std::string key(extension);
  for (char& c : key) {
    c = ascii_lower(c);
  }
  _by_extension.insert_or_assign(std::move(key), std::string(type));
}

bool MimeTypes::load_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return false;
  }
  std::string line;
  while (std::getline(file, line)) {
    if (size_t hash = line.find('#'); hash != std::string::npos) {
      line.resize(hash);
    }
    std::istringstream fields(line);
    std::string type;
    std::string extension;
    if (!(fields >> type) || type.find('/') == std::string::npos) {
      continue;
    }
    while (fields >> extension) {
      if (extension.size() <= max_extension_bytes) {
        set(extension, type);
      }
    }
  }
  return true;
}

std::string_view MimeTypes::lookup(std::string_view path) const {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size() ||
      name.size() - dot - 1 > max_extension_bytes) {
    return default_type;
  }
  std::string_view extension = name.substr(dot + 1);
  std::array<char, max_extension_bytes> lowered{};
  for (size_t i = 0; i < extension.size(); ++i) {
    lowered[i] = ascii_lower(extension[i]);
  }
  auto found = _by_extension.find(std::string_view(lowered.data(), extension.size()));
  return found == _by_extension.end() ? default_type : std::string_view(found->second);
}

}  // namespace ringhttpd
