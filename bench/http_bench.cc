// Microbenchmarks of the request path's pure functions: parsing, path
// normalisation, MIME lookup, date and response-head rendering.

#include <benchmark/benchmark.h>

#include <string>

#include "cache/http_date.h"
#include "conf/mime_types.h"
#include "cache/http_date.h"
#include "src/http/path.h"
#include "src/http/range.h"
#include "src/http/request.h"
#include "src/http/response.h"

namespace ringhttpd {
namespace {

const std::string short_request = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";

std::string browser_request() {
  std::string request =
      "GET /assets/app.3f9a1c.js?v=12 HTTP/1.1\r\n"
      "Host: origin.example.com\r\n"
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0 Safari/537.36\r\n"
      "Accept: */*\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
      "Accept-Language: en-US,en;q=0.9\r\nReferer: https://example.com/\r\n"
      "If-None-Match: \"6b03e044.1a0a7a96-1f00\"\r\n"
      "If-Modified-Since: Mon, 23 Nov 2026 06:42:12 GMT\r\n"
      "Connection: keep-alive\r\nCache-Control: max-age=0\r\n"
      "Sec-Fetch-Dest: script\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\n"
      "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nVia: 1.1 edge\r\n"
      "CDN-Loop: edge\r\nX-Request-Id: 8c3e2f0a-4b1d-4c6e-9f3a-2d7b5e1c0a9f\r\n"
      "Pragma: no-cache\r\nDNT: 1\r\n\r\n";
  return request;
}

void parse_benchmark(benchmark::State& state, const std::string& input) {
  ParseLimits limits;
  Request request;
  for (auto _ : state) {
    ParseResult result = parse_request(input, limits, request);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(request);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
}

void BM_ParseShortRequest(benchmark::State& state) { parse_benchmark(state, short_request); }
BENCHMARK(BM_ParseShortRequest);

void BM_Parse20HeaderRequest(benchmark::State& state) {
  static const std::string input = browser_request();
  parse_benchmark(state, input);
}
BENCHMARK(BM_Parse20HeaderRequest);

// A 16 KiB head arriving a byte per receive, as a slowloris sends it: what
// the input room spends on it. Arg 0 parses it again on every byte (what it
// did before head_worth_parsing), arg 1 once a line (what it does).
void BM_DribbledHead(benchmark::State& state) {
  std::string head = "GET / HTTP/1.1\r\nHost: t\r\n";
  while (head.size() < 16000) {
    head += "X-Field: " + std::string(150, 'v') + "\r\n";
  }
  head += "\r\n";
  ParseLimits limits;
  limits.max_header_bytes = 1 << 20;
  limits.max_header_count = 1000;
  Request request;
  bool every_byte = state.range(0) == 0;
  for (auto _ : state) {
    size_t looked = 0;
    for (size_t size = 1; size <= head.size(); ++size) {
      std::string_view input(head.data(), size);
      if (!every_byte && !head_worth_parsing(input, looked, limits)) {
        looked = size;
        continue;
      }
      looked = size;
      benchmark::DoNotOptimize(parse_request(input, limits, request));
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * head.size()));
}
BENCHMARK(BM_DribbledHead)->Arg(0)->Arg(1);

void BM_NormalizePath(benchmark::State& state) {
  const std::string target = "/assets/./img/../css/site%20main.css?v=3";
  char out[256];
  for (auto _ : state) {
    NormalizedPath path = normalize_target(target, out, sizeof out);
    benchmark::DoNotOptimize(path);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NormalizePath);

void BM_MimeLookup(benchmark::State& state) {
  MimeTypes types;
  types.load_file("/etc/mime.types");
  for (auto _ : state) {
    benchmark::DoNotOptimize(types.lookup("/assets/fonts/inter-var.WOFF2"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MimeLookup);

void BM_FormatHttpDate(benchmark::State& state) {
  char out[http_date_bytes];
  time_t seconds = 1795000000;
  for (auto _ : state) {
    format_http_date(seconds++, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FormatHttpDate);

void BM_RenderFileHead(benchmark::State& state) {
  FileHead file{200, 6144, "text/html", "Mon, 18 Nov 2026 08:26:40 GMT", "\"6afd8a00.75bcd15-1800\""};
  DateCache date;
  char buffer[1024];
  for (auto _ : state) {
    HeaderWriter head(buffer, sizeof buffer);
    render_file_head(head, {date.get(1795000000), ""}, file);
    benchmark::DoNotOptimize(head.size());
    benchmark::DoNotOptimize(buffer);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderFileHead);

// A video player's typical request, and a multipart set that must be sorted
// and merged.
void BM_ParseRange(benchmark::State& state) {
  const std::string value = state.range(0) == 0 ? "bytes=1048576-2097151"
                                                : "bytes=900-999, 0-99, 50-149, 5000-5099, -100";
  for (auto _ : state) {
    RangeSet set = parse_range(value, 64 * 1024 * 1024, 16);
    benchmark::DoNotOptimize(set);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRange)->Arg(0)->Arg(1);

}  // namespace
}  // namespace ringhttpd
