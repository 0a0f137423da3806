#include "src/plan/file_plan.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "cache/http_date.h"
#include "src/http/conditional.h"
#include "src/plan/multipart.h"
#include "src/plan/status_plan.h"

namespace ringhttpd {
namespace {

// A modification time later than now (a clock skewed at the deploy) is
// sent as now, the Date (RFC 9110 §8.8.2.1: MUST NOT be later than Date).
bool modified_in_the_future(const FileAnswer& answer) {
  return answer.served->info.mtime_sec > answer.now_seconds;
}

// The head fields of a file response. Validators come from what is sent
// (a precompressed sibling has its own ETag); the type and the rule fields
// from the file asked for; Expires is counted from now.
FileHead file_head(const PlanContext& context, const FileAnswer& answer, uint16_t status,
                   uint64_t content_length, char (&expires)[http_date_bytes]) {
  const CacheEntry& asked = *answer.asked;
  const CacheEntry& served = *answer.served;
  FileHead head{status, content_length, asked.content_type,
                modified_in_the_future(answer) ? context.common.date : served.last_modified_text(),
                served.etag_text()};
  // A 304 describes the cached representation, not a new coding of it
  // (RFC 9110 §15.4.5: SHOULD NOT send other representation metadata).
  head.content_encoding = status == 304 ? std::string_view() : answer.content_encoding;
  head.vary_accept_encoding = answer.vary_accept_encoding;
  head.extra_fields = asked.extra_fields;
  if (asked.max_age_seconds >= 0) {
    format_http_date(answer.now_seconds + asked.max_age_seconds, expires);
    head.expires = {expires, http_date_bytes};
  }
  return head;
}

bool plan_not_modified(const PlanContext& context, const FileAnswer& answer, SendPlan& plan) {
  // A 304 carries what a cache needs to update its copy (§15.4.5).
  char expires[http_date_bytes];
  HeaderWriter head(context.scratch, context.scratch_capacity);
  render_file_head(head, context.common, file_head(context, answer, 304, 0, expires));
  return plan.set_head_only(head, 304, 0);
}

bool plan_unsatisfiable(const PlanContext& context, uint64_t size, SendPlan& plan) {
  char complete[24];
  auto [end, error] = std::to_chars(complete, complete + sizeof complete, size);
  (void)error;
  HeaderWriter head(context.scratch, context.scratch_capacity);
  render_status_response(head, context.common, 416, context.head_only, "Content-Range",
                         {"bytes */", std::string_view(complete, end - complete)});
  return plan.set_head_only(head, 416, context.head_only ? 0 : status_body_bytes(416));
}

// 200 or 206: the head, then for a body the pieces around its ranges.
bool plan_ranges(const PlanContext& context, const FileAnswer& answer, const RangeSet& ranges,
                 SendPlan& plan) {
  uint64_t size = answer.served->info.size;
  char expires[http_date_bytes];
  FileHead file = file_head(context, answer, 200, size, expires);
  if (ranges.outcome == RangeOutcome::full) {
    plan.ranges[0] = {0, size};
    plan.range_count = size > 0 ? 1 : 0;
  } else {
    std::copy_n(ranges.ranges.begin(), ranges.count, plan.ranges.begin());
    plan.range_count = static_cast<uint8_t>(ranges.count);
    file.status = 206;
    file.complete_length = size;
  }
  bool multipart = plan.range_count > 1;
  MultipartShape shape{{}, answer.asked->content_type, size};
  if (file.status == 206 && !multipart) {
    file.content_range = &plan.ranges[0];
    file.content_length = plan.ranges[0].length;
  }
  if (multipart) {
    std::snprintf(plan.boundary, sizeof plan.boundary, "%016llx",
                  static_cast<unsigned long long>(answer.boundary_seed));
    shape.boundary = file.boundary = plan.boundary;
    file.content_length =
        multipart_content_length(shape, {plan.ranges.data(), plan.range_count});
  }
  HeaderWriter out(context.scratch, context.scratch_capacity);
  render_file_head(out, context.common, file);
  if (context.head_only || plan.range_count == 0) {
    return plan.set_head_only(out, file.status, 0);  // HEAD, or an empty file: the head is all
  }
  plan.status = file.status;
  plan.content_length = file.content_length;
  plan.body_bytes = file.content_length;
  render_pieces(out, multipart ? &shape : nullptr, plan);
  return !out.overflowed();
}

}  // namespace

bool plan_file(const PlanContext& context, const FileAnswer& answer, SendPlan& plan) {
  const Request& request = *answer.request;
  const CacheEntry& served = *answer.served;
  time_t modified = modified_in_the_future(answer) ? answer.now_seconds
                                                  : static_cast<time_t>(served.info.mtime_sec);
  Validators validators{served.etag_text(), modified};
  switch (evaluate_preconditions(request, validators)) {
    case Precondition::failed:
      return plan_status(context, 412, plan);
    case Precondition::not_modified:
      return plan_not_modified(context, answer, plan);
    case Precondition::proceed:
      break;
  }
  RangeSet ranges;  // outcome full: the whole file
  // Range applies to GET only (RFC 9110 §14.2: a server MUST ignore it for
  // other methods): HEAD says what GET without Range would.
  if (request.method == Method::get && !request.range.empty() &&
      if_range_allows(request.if_range, validators)) {
    ranges = parse_range(request.range, served.info.size, answer.max_ranges);
  }
  if (ranges.outcome == RangeOutcome::unsatisfiable) {
    return plan_unsatisfiable(context, served.info.size, plan);
  }
  return plan_ranges(context, answer, ranges, plan);
}

}  // namespace ringhttpd
