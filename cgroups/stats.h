// Usage numbers of a cgroup for `events`: cpu time, memory usage/limit/max/failcnt and OOM kills,
// pids. Each manager fills them from its own files (v1 or v2 names).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ocelot::cgroups {

struct Stats {
  uint64_t cpu_total_ns = 0, cpu_user_ns = 0, cpu_kernel_ns = 0;
  uint64_t mem_usage = 0, mem_max = 0, mem_limit = 0, mem_failcnt = 0;
  uint64_t oom_kills = 0;
  uint64_t pids_current = 0, pids_limit = 0;
  std::map<std::string, uint64_t> mem_raw;
};

}  // namespace ocelot::cgroups
