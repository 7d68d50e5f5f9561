#include "cgroups/hybrid.h"

#include "base/fs.h"

namespace ocelot::cgroups {

bool HybridManager::occupied() const { return v1_.occupied() || v2_.occupied(); }

Status HybridManager::create() {
  OCL_CHECK(v1_.create());
  return v2_.create();
}

Status HybridManager::add_process(pid_t pid) {
  OCL_CHECK(v1_.add_process(pid));
  return v2_.add_process(pid);
}

Status HybridManager::apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra_allowed) {
  auto in_v1 = [&](const std::string& c) { return layout_.where(c) == Hierarchy::v1; };
  auto in_v2 = [&](const std::string& c) { return layout_.where(c) == Hierarchy::v2; };
  // The v1 half gets what v1 holds; a resource whose controller neither hierarchy holds is an
  // error there (it would otherwise be skipped in silence).
  spec::Resources r1 = select_controllers(r, [&](const std::string& c) { return !in_v2(c); });
  r1.unified.clear();
  r1.devices.clear();
  OCL_CHECK(v1_.write_plan(OCL_TRY(plan_v1(r1))));
  spec::Resources r2 = select_controllers(r, in_v2);
  r2.devices.clear();
  r2.unified = r.unified;  // raw cgroup2 keys: the v2 half checks that it holds their controller
  OCL_CHECK(v2_.write_plan(OCL_TRY(plan_v2(r2))));
  if (in_v1("devices")) return v1_.write_devices(r.devices, extra_allowed);
  return v2_.write_devices(r.devices, extra_allowed);
}

Status HybridManager::freeze(bool frozen) {
  if (layout_.where("freezer") == Hierarchy::v1) return v1_.freeze(frozen);
  return v2_.freeze(frozen);
}

Result<bool> HybridManager::frozen() const {
  if (layout_.where("freezer") == Hierarchy::v1) return v1_.frozen();
  return v2_.frozen();
}

Result<std::vector<pid_t>> HybridManager::pids() const { return paths_.v1.empty() ? v2_.pids() : v1_.pids(); }

Status HybridManager::remove() {
  Status a = v1_.remove();
  Status b = v2_.remove();
  return a ? b : a;
}

Stats HybridManager::stats() const {
  Stats a = v1_.stats();
  if (layout_.where("memory") != Hierarchy::v2 && layout_.where("pids") != Hierarchy::v2 &&
      layout_.where("cpu") != Hierarchy::v2)
    return a;
  Stats b = v2_.stats();
  if (layout_.where("cpu") == Hierarchy::v2) {
    a.cpu_total_ns = b.cpu_total_ns;
    a.cpu_user_ns = b.cpu_user_ns;
    a.cpu_kernel_ns = b.cpu_kernel_ns;
  }
  if (layout_.where("memory") == Hierarchy::v2) {
    a.mem_usage = b.mem_usage;
    a.mem_max = b.mem_max;
    a.mem_limit = b.mem_limit;
    a.mem_failcnt = b.mem_failcnt;
    a.oom_kills = b.oom_kills;
    a.mem_raw = b.mem_raw;
  }
  if (layout_.where("pids") == Hierarchy::v2) {
    a.pids_current = b.pids_current;
    a.pids_limit = b.pids_limit;
  }
  return a;
}

}  // namespace ocelot::cgroups
