#include "src/plan/status_plan.h"

#include "conf/text.h"

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

namespace {

// pchar (RFC 3986 §3.3) but for '%': unreserved, sub-delims, ':' and '@'.
bool stays_as_it_is(unsigned char c) {
  return is_alnum(c) || std::string_view("-._~!$&'()*+,;=:@").find(static_cast<char>(c)) !=
                            std::string_view::npos;
}

// The segment percent-encoded into `out`: at most three bytes a byte.
std::string_view encode_segment(std::string_view segment, char* out) {
  constexpr char hex[] = "0123456789ABCDEF";
  size_t length = 0;
  for (char c : segment) {
    auto byte = static_cast<unsigned char>(c);
    if (stays_as_it_is(byte)) {
      out[length++] = c;
    } else {
      out[length++] = '%';
      out[length++] = hex[byte >> 4];
      out[length++] = hex[byte & 0xF];
    }
  }
  return {out, length};
}

}  // namespace

// Relative, so it stays right behind any proxy or CDN that rewrites the
// host or the path prefix.
bool plan_directory_redirect(const PlanContext& context, std::string_view directory,
                             std::string_view query, SendPlan& plan) {
  constexpr size_t most_segment_bytes = 1024;  // a longer name is encoded in part: the head says "not found"
  char encoded[3 * most_segment_bytes];
  std::string_view segment = encode_segment(directory.substr(0, most_segment_bytes), encoded);
  // "a:b/" would read as a URI scheme; "./a:b/" cannot.
  std::string_view prefix = segment.find(':') != std::string_view::npos ? "./" : "";
  HeaderWriter head(context.scratch, context.scratch_capacity);
  render_status_response(head, context.common, 301, context.head_only, "Location",
                         {prefix, segment, "/", query});
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
