#include "src/plan/status_plan.h"

#include "src/http/path.h"

namespace ringhttpd {

bool plan_status(const PlanContext& context, uint16_t status, SendPlan& plan) {
  HeaderWriter head(context.scratch, context.scratch_capacity);
  if (status == 405) {
    render_status_response(head, context.common, status, context.head_only, "Allow",
                           {allowed_methods});
  } else {
    render_status_response(head, context.common, status, context.head_only);
  }
  return plan.set_head_only(head, status, context.head_only ? 0 : status_body_bytes(status));
}

// Relative, so it stays right behind any proxy or CDN that rewrites the
// host or the path prefix.
bool plan_directory_redirect(const PlanContext& context, std::string_view target, SendPlan& plan) {
  std::string_view path = target_path(target);
  std::string_view last_segment = path.substr(path.rfind('/') + 1);
  // "a:b/" would read as a URI scheme; "./a:b/" cannot.
  std::string_view prefix = last_segment.find(':') != std::string_view::npos ? "./" : "";
  HeaderWriter head(context.scratch, context.scratch_capacity);
  render_status_response(head, context.common, 301, context.head_only, "Location",
                         {prefix, last_segment, "/", target_query(target)});
  return plan.set_head_only(head, 301, context.head_only ? 0 : status_body_bytes(301));
}

bool plan_options(const PlanContext& context, SendPlan& plan) {
  HeaderWriter head(context.scratch, context.scratch_capacity);
  render_options(head, context.common, allowed_methods);
  return plan.set_head_only(head, 204, 0);
}

bool plan_generated(const PlanContext& context, uint16_t status, std::string_view content_type,
                    std::string_view body, SendPlan& plan) {
  HeaderWriter head(context.scratch, context.scratch_capacity / 2);
  render_generated_head(head, context.common, status, content_type, body.size());
  if (!context.head_only) {
    head.append(body);  // moved down to follow the head
  }
  return plan.set_head_only(head, status, context.head_only ? 0 : body.size());
}

}  // namespace ringhttpd
