#include "conf/pipe_budget.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace ringhttpd {

uint64_t pipe_user_budget_bytes() {
  unsigned long long pages = 16384;  // the kernel's default, if /proc says nothing
  if (FILE* file = std::fopen("/proc/sys/fs/pipe-user-pages-soft", "r")) {
    if (std::fscanf(file, "%llu", &pages) != 1) {
      pages = 16384;
    }
    std::fclose(file);
  }
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

unsigned pipes_per_worker(const PipeBudgetInputs& inputs) {
  uint64_t workers = std::max(inputs.workers, 1u);
  uint64_t by_pages = inputs.budget_bytes == 0 || inputs.pipe_bytes == 0
                          ? most_pipes_per_worker
                          : inputs.budget_bytes * 3 / 4 / workers / inputs.pipe_bytes;
  uint64_t by_descriptors = inputs.descriptors / 8 / workers / 2;
  return static_cast<unsigned>(std::clamp<uint64_t>(std::min(by_pages, by_descriptors),
                                                    fewest_pipes_per_worker, most_pipes_per_worker));
}

unsigned grown_pipes_per_worker(const PipeBudgetInputs& inputs) {
  if (inputs.pipe_bytes >= grown_pipe_bytes) {
    return 0;
  }
  uint64_t per_worker = inputs.budget_bytes == 0
                            ? most_grown_pipes_per_worker
                            : inputs.budget_bytes / 4 / std::max(inputs.workers, 1u) / grown_pipe_bytes;
  return static_cast<unsigned>(std::min<uint64_t>(per_worker, most_grown_pipes_per_worker));
}

}  // namespace ringhttpd
