#include "cgroups/stats.h"

#include <sstream>

#include "base/fs.h"

namespace ocelot::cgroups {

static uint64_t num(const std::string& dir, const char* file) {
  auto t = fs::read_file(fs::join(dir, file));
  if (!t) return 0;
  if (t->rfind("max", 0) == 0) return 0;
  return std::strtoull(t->c_str(), nullptr, 10);
}

static std::map<std::string, uint64_t> keyed(const std::string& dir, const char* file) {
  std::map<std::string, uint64_t> out;
  auto t = fs::read_file(fs::join(dir, file));
  if (!t) return out;
  std::istringstream in(*t);
  std::string k;
  uint64_t v;
  while (in >> k >> v) out[k] = v;
  return out;
}

Stats read_stats(const Manager& m) {
  Stats s;
  const Layout& l = m.layout();
  if (l.where("cpuacct") == "v1") {
    std::string d = m.dir_for("cpuacct");
    s.cpu_total_ns = num(d, "cpuacct.usage");
    s.cpu_user_ns = num(d, "cpuacct.usage_user");
    s.cpu_kernel_ns = num(d, "cpuacct.usage_sys");
  } else if (l.where("cpu") == "v2") {
    auto k = keyed(m.dir_for("cpu"), "cpu.stat");
    s.cpu_total_ns = k["usage_usec"] * 1000;
    s.cpu_user_ns = k["user_usec"] * 1000;
    s.cpu_kernel_ns = k["system_usec"] * 1000;
  }
  if (l.where("memory") == "v1") {
    std::string d = m.dir_for("memory");
    s.mem_usage = num(d, "memory.usage_in_bytes");
    s.mem_max = num(d, "memory.max_usage_in_bytes");
    s.mem_limit = num(d, "memory.limit_in_bytes");
    s.mem_failcnt = num(d, "memory.failcnt");
    s.oom_kills = keyed(d, "memory.oom_control")["oom_kill"];
    s.mem_raw = keyed(d, "memory.stat");
  } else if (l.where("memory") == "v2") {
    std::string d = m.dir_for("memory");
    s.mem_usage = num(d, "memory.current");
    s.mem_max = num(d, "memory.peak");
    s.mem_limit = num(d, "memory.max");
    auto ev = keyed(d, "memory.events");
    s.mem_failcnt = ev["max"];
    s.oom_kills = ev["oom_kill"];
    s.mem_raw = keyed(d, "memory.stat");
  }
  if (!l.where("pids").empty()) {
    std::string d = m.dir_for("pids");
    s.pids_current = num(d, "pids.current");
    s.pids_limit = num(d, "pids.max");
  }
  return s;
}

}  // namespace ocelot::cgroups
