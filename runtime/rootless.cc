#include "runtime/rootless.h"

#include <unistd.h>

#include <cstdio>

#include "base/fs.h"
#include "cgroups/plan.h"

namespace ocelot::runtime {

bool uid_map_is_initial(const std::string& uid_map) {
  // The initial namespace maps everything: "0 0 4294967295".
  unsigned long long inside = 1, outside = 1, count = 0;
  if (std::sscanf(uid_map.c_str(), "%llu %llu %llu", &inside, &outside, &count) != 3) return true;
  return inside == 0 && outside == 0 && count == 4294967295ULL;
}

bool running_in_user_namespace() {
  static int cached = -1;
  if (cached < 0) {
    auto m = fs::read_file("/proc/self/uid_map");
    cached = m && !uid_map_is_initial(*m) ? 1 : 0;
  }
  return cached == 1;
}

Result<bool> rootless_mode(const Globals& g) {
  if (g.rootless == "true") return true;
  if (g.rootless == "false") return false;
  if (g.rootless == "auto" || g.rootless.empty()) return ::geteuid() != 0 || running_in_user_namespace();
  return Error::make("--rootless " + quote(g.rootless) + ": expected true, false or auto");
}

static bool asks_for_limits(const spec::Linux& l) {
  if (!l.resources) return false;
  auto plan = cgroups::plan_v1(*l.resources);
  return !plan || !plan->writes.empty();
}

Result<RootlessCgroupPlan> plan_rootless_cgroups(const std::string& id, const spec::Linux& l,
                                                 const std::string& not_writable) {
  RootlessCgroupPlan out;
  if (not_writable.empty()) return out;
  out.own_cgroup = false;
  std::string why = "the cgroup " + quote(not_writable) +
                    " is not writable by this user (a cgroup v1 or hybrid host, or no delegated cgroup)";
  if (asks_for_limits(l))
    return Error::make("rootless: cannot apply linux.resources: " + why +
                       "; remove the limits, or give a cgroupsPath inside a cgroup delegated to this user");
  out.warning = "rootless: container " + quote(id) + " has no cgroup of its own (" + why +
                "): it stays in the caller's cgroup, and pause, update and stats are not available";
  if (l.resources && !l.resources->devices.empty())
    out.warning +=
        "; linux.resources.devices is not enforced (a user namespace cannot create device nodes, "
        "and bound ones keep their host permissions)";
  return out;
}

std::string first_unwritable_cgroup(const cgroups::Paths& p) {
  std::vector<std::string> dirs;
  for (const auto& [ctl, d] : p.v1) dirs.push_back(d);
  if (!p.v2.empty()) dirs.push_back(p.v2);
  for (const auto& d : dirs) {
    std::string probe = d;
    while (probe != "/" && !fs::exists(probe)) probe = fs::dirname(probe);
    if (::access(probe.c_str(), W_OK) != 0) return d;
  }
  return "";
}

}  // namespace ocelot::runtime
