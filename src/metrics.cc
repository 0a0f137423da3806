#include "src/metrics.h"

#include <array>
#include <string_view>

namespace ringhttpd {
namespace {

// Every plain counter and gauge: its name, type, help, and where each
// worker keeps it. Adding a metric is adding a row.
template <typename Value>
struct Row {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  std::atomic<Value> WorkerStats::*field;
};

constexpr std::array counter_rows{
    Row<uint64_t>{"ringhttpd_response_body_bytes_total", "counter", "Response body bytes sent.",
                  &WorkerStats::body_bytes},
    Row<uint64_t>{"ringhttpd_connections_clobbered_total", "counter",
                  "Idle connections closed to admit new ones at --max-connections.",
                  &WorkerStats::clobbered},
    Row<uint64_t>{"ringhttpd_connections_refused_total", "counter",
                  "Connections refused because every slot was busy.", &WorkerStats::refused},
    Row<uint64_t>{"ringhttpd_cache_hits_total", "counter", "Open-file cache hits.",
                  &WorkerStats::cache_hits},
    Row<uint64_t>{"ringhttpd_cache_misses_total", "counter", "Open-file cache misses.",
                  &WorkerStats::cache_misses},
    Row<uint64_t>{"ringhttpd_cache_negative_hits_total", "counter",
                  "Hits on remembered 404/403 answers.", &WorkerStats::cache_negative_hits},
    Row<uint64_t>{"ringhttpd_cache_evictions_total", "counter", "Entries evicted to make room.",
                  &WorkerStats::cache_evictions},
    Row<uint64_t>{"ringhttpd_cache_revalidations_total", "counter", "Stale files checked with statx.",
                  &WorkerStats::cache_revalidations},
    Row<uint64_t>{"ringhttpd_cache_expired_total", "counter",
                  "Entries dropped unused for --cache-idle.", &WorkerStats::cache_expired},
    Row<uint64_t>{"ringhttpd_cache_open_files", "gauge", "Descriptors the caches hold.",
                  &WorkerStats::cache_open_files},
    Row<uint64_t>{"ringhttpd_cache_body_bytes", "gauge", "Bytes of small files held in memory.",
                  &WorkerStats::cache_body_bytes},
    Row<uint64_t>{"ringhttpd_access_log_dropped_total", "counter",
                  "Access log entries dropped (full disk, slow reader).", &WorkerStats::log_dropped},
    Row<uint64_t>{"ringhttpd_pipe_waits_total", "counter",
                  "Times a response waited for a splice pipe.", &WorkerStats::pipe_waits},
    Row<uint64_t>{"ringhttpd_responses_batched_total", "counter",
                  "Pipelined responses sent within a later response's send.",
                  &WorkerStats::responses_batched},
    Row<uint64_t>{"ringhttpd_tls_handshakes_total", "counter", "TLS handshakes completed.",
                  &WorkerStats::tls_handshakes},
    Row<uint64_t>{"ringhttpd_tls_resumptions_total", "counter",
                  "TLS handshakes that resumed a session from a ticket.", &WorkerStats::tls_resumed},
    Row<uint64_t>{"ringhttpd_tls_kernel_records_total", "counter",
                  "TLS connections whose records were handed to the kernel (kTLS).",
                  &WorkerStats::tls_kernel_records},
};

constexpr std::array gauge_rows{
    Row<uint32_t>{"ringhttpd_connections_open", "gauge", "Client connections open.",
                  &WorkerStats::connections},
    Row<uint32_t>{"ringhttpd_connections_idle", "gauge",
                  "Keep-alive connections waiting for a request.", &WorkerStats::idle_connections},
    Row<uint32_t>{"ringhttpd_pipes_open", "gauge",
                  "Splice pipes the workers hold, lent or idle (two descriptors each).",
                  &WorkerStats::pipes_open},
    Row<uint32_t>{"ringhttpd_pipe_waiters", "gauge",
                  "Responses waiting for a splice pipe (the pools are at their bound).",
                  &WorkerStats::pipe_waiters},
};

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

template <typename Value, size_t Count>
void render_rows(const std::array<Row<Value>, Count>& rows, const WorkerStats* stats,
                 unsigned workers, HeaderWriter& out) {
  for (const Row<Value>& row : rows) {
    uint64_t total = 0;
    for (unsigned i = 0; i < workers; ++i) {
      total += (stats[i].*row.field).load(std::memory_order_relaxed);
    }
    metric(out, row.name, row.type, row.help, total);
  }
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
  render_rows(gauge_rows, stats, workers, out);
  render_rows(counter_rows, stats, workers, out);
  out.append("# HELP ringhttpd_tls_handshake_failures_total TLS handshakes that failed, by reason.\n"
             "# TYPE ringhttpd_tls_handshake_failures_total counter\n");
  for (size_t reason = 1; reason < static_cast<size_t>(tls::Failure::count); ++reason) {
    uint64_t total = 0;
    for (unsigned i = 0; i < workers; ++i) {
      total += stats[i].tls_failures[reason].load(std::memory_order_relaxed);
    }
    out.append("ringhttpd_tls_handshake_failures_total{reason=\"");
    out.append(tls::failure_name(static_cast<tls::Failure>(reason)));
    out.append("\"} ");
    out.append_number(total);
    out.append("\n");
  }
  metric(out, "ringhttpd_tls_ktls", "gauge",
         "1 when TLS records are handed to the kernel (kTLS), 0 when sealed in user space.",
         workers > 0 ? stats[0].tls_kernel_available.load(std::memory_order_relaxed) : 0);
  metric(out, "ringhttpd_workers", "gauge", "Worker threads, one io_uring each.", workers);
}

}  // namespace ringhttpd
