#pragma once
// The server's own answers, matched before any file: --health-path (200,
// or 503 while stopping, for load balancers) and --metrics-path (the
// Prometheus text of every worker's counters).

#include <cstdint>
#include <string_view>

#include "conf/config.h"
#include "src/http/response.h"
#include "src/worker_stats.h"

namespace ringhttpd {

enum class Endpoint : uint8_t { none, health, metrics };

// Which endpoint a request-target names, if any.
Endpoint match_endpoint(const Config& config, std::string_view target);

struct EndpointAnswer {
  uint16_t status = 200;
  std::string_view content_type;
};

// Writes the endpoint's body through `body` (which reports an overflow)
// and says how to answer it.
EndpointAnswer render_endpoint(Endpoint endpoint, bool stopping, const WorkerStats* all_stats,
                               unsigned workers, HeaderWriter& body);

}  // namespace ringhttpd
