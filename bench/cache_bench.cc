// FileCache microbenchmarks: a hit, a miss followed by an insert, and
// eviction churn, at 16k entries (the default) and at 1M.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "cache/file_cache.h"

namespace ringhttpd {
namespace {

struct NoClose : FdCloser {
  void close_fd(int) override {}
};

std::vector<std::string> make_keys(size_t count) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    keys.push_back("/assets/" + std::to_string(i % 97) + "/file-" + std::to_string(i) + ".js");
  }
  return keys;
}

FileInfo info_for(size_t i) {
  FileInfo info;
  info.size = 6144;
  info.inode = i;
  info.mtime_sec = 1795000000;
  info.mode = S_IFREG | 0644;
  return info;
}

CacheLimits limits_for(size_t entries) {
  CacheLimits limits;
  limits.max_entries = static_cast<uint32_t>(entries);
  limits.valid_ms = 1'000'000'000;
  return limits;
}

void fill(FileCache& cache, const std::vector<std::string>& keys, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    cache.release(cache.insert_file(keys[i], keys[i], static_cast<int>(i), info_for(i), "text/javascript", 0));
  }
}

void BM_CacheHit(benchmark::State& state) {
  auto entries = static_cast<size_t>(state.range(0));
  std::vector<std::string> keys = make_keys(entries);
  NoClose closer;
  FileCache cache(limits_for(entries), closer);
  fill(cache, keys, entries);
  size_t i = 0;
  for (auto _ : state) {
    Lookup found = cache.find(keys[i], 1);
    benchmark::DoNotOptimize(found);
    i = (i + 7919) % entries;  // stride through the table, not one hot line
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CacheHit)->Arg(16384)->Arg(1 << 20);

void BM_CacheMissAndInsert(benchmark::State& state) {
  auto entries = static_cast<size_t>(state.range(0));
  std::vector<std::string> keys = make_keys(entries * 2);
  NoClose closer;
  FileCache cache(limits_for(entries * 2), closer);
  size_t i = 0;
  for (auto _ : state) {
    if (i == keys.size()) {
      state.PauseTiming();
      cache.clear();
      i = 0;
      state.ResumeTiming();
    }
    Lookup found = cache.find(keys[i], 1);
    benchmark::DoNotOptimize(found);
    cache.release(cache.insert_file(keys[i], keys[i], static_cast<int>(i), info_for(i), "text/javascript", 1));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CacheMissAndInsert)->Arg(16384)->Arg(1 << 20);

// A full cache and a working set twice its size: every insert evicts.
void BM_CacheEvictionChurn(benchmark::State& state) {
  auto entries = static_cast<size_t>(state.range(0));
  std::vector<std::string> keys = make_keys(entries * 2);
  NoClose closer;
  FileCache cache(limits_for(entries), closer);
  fill(cache, keys, entries);
  size_t i = entries;
  for (auto _ : state) {
    const std::string& key = keys[i];
    Lookup found = cache.find(key, 1);
    if (found.entry == nullptr) {
      cache.release(cache.insert_file(key, key, static_cast<int>(i), info_for(i), "text/javascript", 1));
    }
    i = (i + 1) % keys.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["evictions"] = static_cast<double>(cache.counters().evictions);
}
BENCHMARK(BM_CacheEvictionChurn)->Arg(16384)->Arg(1 << 20);

}  // namespace
}  // namespace ringhttpd
