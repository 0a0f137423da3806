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

// The target names a directory without its slash: 301 to "name/".
bool plan_directory_redirect(const PlanContext& context, std::string_view target, SendPlan& plan);

// 204 with Allow.
bool plan_options(const PlanContext& context, SendPlan& plan);

// A body the server generated, written in the second half of scratch
// (where `body` must lie); it moves down to follow the head.
bool plan_generated(const PlanContext& context, uint16_t status, std::string_view content_type,
                    std::string_view body, SendPlan& plan);

}  // namespace ringhttpd
