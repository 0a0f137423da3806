#include "src/endpoints.h"

#include "src/http/path.h"
#include "src/metrics.h"

namespace ringhttpd {

Endpoint match_endpoint(const Config& config, std::string_view target) {
  if (config.health_path.empty() && config.metrics_path.empty()) {
    return Endpoint::none;  // the usual case: nothing to compare on a file request
  }
  std::string_view path = target_path(target);
  if (!config.health_path.empty() && path == config.health_path) {
    return Endpoint::health;
  }
  if (!config.metrics_path.empty() && path == config.metrics_path) {
    return Endpoint::metrics;
  }
  return Endpoint::none;
}

EndpointAnswer render_endpoint(Endpoint endpoint, bool stopping, const WorkerStats* all_stats,
                               unsigned workers, HeaderWriter& body) {
  if (endpoint == Endpoint::metrics) {
    render_metrics(all_stats, workers, body);
    return {200, "text/plain; version=0.0.4; charset=utf-8"};
  }
  // 503 while stopping: a load balancer drains this origin first.
  body.append(stopping ? "stopping\n" : "ok\n");
  return {uint16_t(stopping ? 503 : 200), "text/plain; charset=utf-8"};
}

}  // namespace ringhttpd
