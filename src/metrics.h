#pragma once
// The Prometheus text exposition (version 0.0.4) of every worker's counters,
// summed. Rendered on request by whichever worker answers /metrics.

#include <cstddef>

#include "src/http/response.h"
#include "src/worker_stats.h"

namespace ringhttpd {

void render_metrics(const WorkerStats* stats, unsigned workers, HeaderWriter& out);

}  // namespace ringhttpd
