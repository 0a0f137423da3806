#pragma once
// Plans for answers that are a head and at most a small body: a status
// (error pages), the 301 to a directory's slash, OPTIONS, and generated
// bodies (health, metrics). Pure: they write into the plan context's
// scratch and the plan, nothing else. Each returns false when the head
// overflowed scratch (see SendPlan::set_head_only).

#include <cstdint>
#include <string_view>

#include "src/plan/send_plan.h"

namespace ringhttpd {

constexpr std::string_view allowed_methods = "GET, HEAD, OPTIONS";

// "404 Not Found\n" and its head; 405 says what is allowed.
bool plan_status(const PlanContext& context, uint16_t status, SendPlan& plan);

// A path naming a directory without its slash: 301 to "name/", relative.
// `directory` is the last segment of the normalised path (decoded bytes);
// it is percent-encoded again, so nothing a client wrote reaches Location
// as it was ("\\evil.com", which browsers read as "//evil.com").
// `query` (with its '?', or empty) is kept.
bool plan_directory_redirect(const PlanContext& context, std::string_view directory,
                             std::string_view query, SendPlan& plan);

// 204 with Allow.
bool plan_options(const PlanContext& context, SendPlan& plan);

// A body the server generated, written in the second half of scratch
// (where `body` must lie); it moves down to follow the head.
bool plan_generated(const PlanContext& context, uint16_t status, std::string_view content_type,
                    std::string_view body, SendPlan& plan);

}  // namespace ringhttpd
