#pragma once
// The plan of a file response, in the order of RFC 9110 §13.2.2:
// preconditions (412, 304), then the Range when If-Range allows it (416,
// 206, multipart), else 200. Pure: it reads the request and the cache
// entries, and writes the head (and part headers) into scratch and the plan.

#include <ctime>
#include <cstdint>
#include <string_view>

#include "cache/file_cache.h"
#include "src/http/request.h"
#include "src/plan/send_plan.h"

namespace ringhttpd {

struct FileAnswer {
  const Request* request = nullptr;
  const CacheEntry* asked = nullptr;   // the file asked for: its type and rule fields
  const CacheEntry* served = nullptr;  // what is sent: `asked`, or a precompressed sibling
  std::string_view content_encoding;   // the sibling's coding; empty for the file itself
  bool vary_accept_encoding = false;   // another representation could have been chosen
  uint32_t max_ranges = 16;
  time_t now_seconds = 0;              // Expires is counted from it
  uint64_t boundary_seed = 0;          // a multipart boundary is made from it
};

// False when the head overflowed scratch (see SendPlan::set_head_only).
bool plan_file(const PlanContext& context, const FileAnswer& answer, SendPlan& plan);

}  // namespace ringhttpd
