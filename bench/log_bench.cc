// Access log microbenchmarks: formatting one combined entry, and appending
// it to the PIPE_BUF buffers (sealing and handing them to the writer).

#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include "src/access_log.h"

namespace ringhttpd {
namespace {

LogEntry browser_entry() {
  sockaddr_storage address{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(address);
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "203.0.113.7", &v4.sin_addr);
  LogEntry entry;
  entry.peer.set(address);
  entry.clf_time = "[23/Nov/2026:07:05:39 +0000]";
  entry.method = "GET";
  entry.target = "/assets/app.3f9a1c.js?v=12";
  entry.status = 200;
  entry.body_bytes = 6144;
  entry.referer = "https://example.com/";
  entry.user_agent =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
  return entry;
}

void BM_FormatLogEntry(benchmark::State& state) {
  LogEntry entry = browser_entry();
  char line[log_buffer_bytes];
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = format_log_entry(entry, LogFormat::combined, line, sizeof line);
    benchmark::DoNotOptimize(line);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_FormatLogEntry);

// Append, and write every sealed buffer at once as the worker does.
void BM_LogBufferAppend(benchmark::State& state) {
  LogEntry entry = browser_entry();
  LogBuffers buffers;
  int64_t now = 0;
  for (auto _ : state) {
    buffers.append(entry, LogFormat::combined, now++);
    for (std::string_view bytes = buffers.write_next(); !bytes.empty(); bytes = buffers.write_next()) {
      benchmark::DoNotOptimize(bytes.data());
      buffers.write_done(static_cast<int>(bytes.size()));
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["dropped"] = static_cast<double>(buffers.dropped_entries());
}
BENCHMARK(BM_LogBufferAppend);

}  // namespace
}  // namespace ringhttpd
