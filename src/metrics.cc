#include "src/metrics.h"

#include <string_view>

namespace ringhttpd {
namespace {

template <typename Field>
uint64_t sum(const WorkerStats* stats, unsigned workers, Field field) {
  uint64_t total = 0;
  for (unsigned i = 0; i < workers; ++i) {
    total += (stats[i].*field).load(std::memory_order_relaxed);
  }
  return total;
}

void metric(HeaderWriter& out, std::string_view name, std::string_view type, std::string_view help,
            uint64_t value) {
  out.append("# HELP ");
  out.append(name);
  out.append(" ");
  out.append(help);
  out.append("\n# TYPE ");
  out.append(name);
  out.append(" ");
  out.append(type);
  out.append("\n");
  out.append(name);
  out.append(" ");
  out.append_number(value);
  out.append("\n");
}

}  // namespace

void render_metrics(const WorkerStats* stats, unsigned workers, HeaderWriter& out) {
  out.append("# HELP ringhttpd_responses_total Responses sent, by status class.\n"
             "# TYPE ringhttpd_responses_total counter\n");
  for (unsigned status_class = 0; status_class < 5; ++status_class) {
    uint64_t total = 0;
    for (unsigned i = 0; i < workers; ++i) {
      total += stats[i].responses_by_class[status_class].load(std::memory_order_relaxed);
    }
    out.append("ringhttpd_responses_total{class=\"");
    out.append_number(status_class + 1);
    out.append("xx\"} ");
    out.append_number(total);
    out.append("\n");
  }
  metric(out, "ringhttpd_response_body_bytes_total", "counter", "Response body bytes sent.",
         sum(stats, workers, &WorkerStats::body_bytes));
  metric(out, "ringhttpd_connections_open", "gauge", "Client connections open.",
         sum(stats, workers, &WorkerStats::connections));
  metric(out, "ringhttpd_connections_idle", "gauge", "Keep-alive connections waiting for a request.",
         sum(stats, workers, &WorkerStats::idle_connections));
  metric(out, "ringhttpd_connections_clobbered_total", "counter",
         "Idle connections closed to admit new ones at --max-connections.",
         sum(stats, workers, &WorkerStats::clobbered));
  metric(out, "ringhttpd_connections_refused_total", "counter",
         "Connections refused because every slot was busy.", sum(stats, workers, &WorkerStats::refused));
  metric(out, "ringhttpd_cache_hits_total", "counter", "Open-file cache hits.",
         sum(stats, workers, &WorkerStats::cache_hits));
  metric(out, "ringhttpd_cache_misses_total", "counter", "Open-file cache misses.",
         sum(stats, workers, &WorkerStats::cache_misses));
  metric(out, "ringhttpd_cache_negative_hits_total", "counter", "Hits on remembered 404/403 answers.",
         sum(stats, workers, &WorkerStats::cache_negative_hits));
  metric(out, "ringhttpd_cache_evictions_total", "counter", "Entries evicted to make room.",
         sum(stats, workers, &WorkerStats::cache_evictions));
  metric(out, "ringhttpd_cache_revalidations_total", "counter", "Stale files checked with statx.",
         sum(stats, workers, &WorkerStats::cache_revalidations));
  metric(out, "ringhttpd_cache_open_files", "gauge", "Descriptors the caches hold.",
         sum(stats, workers, &WorkerStats::cache_open_files));
  metric(out, "ringhttpd_cache_body_bytes", "gauge", "Bytes of small files held in memory.",
         sum(stats, workers, &WorkerStats::cache_body_bytes));
  metric(out, "ringhttpd_access_log_dropped_total", "counter",
         "Access log entries dropped (full disk, slow reader).",
         sum(stats, workers, &WorkerStats::log_dropped));
  metric(out, "ringhttpd_workers", "gauge", "Worker threads, one io_uring each.", workers);
}

}  // namespace ringhttpd
