// libFuzzer target: the request parser, and path normalisation of whatever
// it accepts. Invariants: no crash or sanitizer report; a complete head is
// never longer than the input; a normalised path starts with '/', never
// contains a "." or ".." segment, and is never longer than its target.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/http/path.h"
#include "src/http/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ringhttpd::ParseLimits limits;
  limits.max_request_line_bytes = 512;
  limits.max_header_bytes = 2048;
  limits.max_header_count = 20;
  ringhttpd::Request request;
  ringhttpd::ParseResult result = ringhttpd::parse_request(input, limits, request);
  if (result.status != ringhttpd::ParseStatus::complete) {
    return 0;
  }
  if (result.head_bytes > size) {
    std::abort();
  }
  std::string out(request.target.size() + 2, '\0');
  ringhttpd::NormalizedPath path = ringhttpd::normalize_target(request.target, out.data(), out.size());
  if (path.error_status == 0) {
    std::string_view normalized(out.data(), path.length);
    if (normalized.empty() || normalized.front() != '/' || path.length > request.target.size() + 1 ||
        normalized.find("/./") != std::string_view::npos ||
        normalized.find("/../") != std::string_view::npos || normalized.ends_with("/..") ||
        normalized.find('\0') != std::string_view::npos) {
      std::abort();
    }
  }
  return 0;
}
