#include "cgroups/fs_v2.h"

#include <algorithm>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "cgroups/device_filter.h"

namespace ocelot::cgroups {

using namespace detail;

bool V2Manager::has(const std::string& c) const {
  return c.empty() || c == "cgroup" || layout_.v2_controllers.count(c) > 0;
}

bool V2Manager::occupied() const { return !paths_.v2.empty() && fs::is_dir(paths_.v2) && has_processes(paths_.v2); }

Status V2Manager::create() {
  if (paths_.v2.empty()) return ok();
  std::vector<std::string> enable(layout_.v2_controllers.begin(), layout_.v2_controllers.end());
  return mkdir_levels(layout_.v2_mount, paths_.v2, false, enable);
}

Status V2Manager::add_process(pid_t pid) {
  if (paths_.v2.empty()) return ok();
  OCL_CHECK_CTX(fs::write_existing(fs::join(paths_.v2, "cgroup.procs"), std::to_string(pid)), "join cgroup");
  return ok();
}

Status V2Manager::write_plan(const Plan& p) {
  for (auto& w : p.warnings) log::warn(w);
  for (const auto& w : p.writes) {
    if (!has(w.controller)) {
      if (w.raw)
        return Error::make("linux.resources.unified." + w.file + ": the \"" + w.controller +
                           "\" controller is not in this host's cgroup v2 hierarchy");
      return missing_controller(w.controller);
    }
    OCL_CHECK(write_one(paths_.v2, w));
  }
  return ok();
}

Status V2Manager::write_devices(const std::vector<spec::DeviceCgroup>& rules,
                                const std::vector<spec::DeviceCgroup>& extra_allowed) {
  if (rules.empty()) return ok();
  return attach_device_filter(paths_.v2, rules, extra_allowed);
}

Status V2Manager::apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra_allowed) {
  spec::Resources v2r = r;
  v2r.devices.clear();
  OCL_CHECK(write_plan(OCL_TRY(plan_v2(v2r))));
  return write_devices(r.devices, extra_allowed);
}

Status V2Manager::freeze(bool frozen) {
  std::string f = fs::join(paths_.v2, "cgroup.freeze");
  if (paths_.v2.empty() || !fs::exists(f)) return Error::make("no cgroup v2 freezer for \"" + paths_.v2 + "\"");
  OCL_CHECK(fs::write_existing(f, frozen ? "1" : "0"));
  for (int i = 0; i < 1000; ++i) {
    auto ev = fs::read_file(fs::join(paths_.v2, "cgroup.events"));
    if (ev && ev->find(frozen ? "frozen 1" : "frozen 0") != std::string::npos) return ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Error::make("cgroup \"" + paths_.v2 + "\" did not reach the " + (frozen ? "frozen" : "thawed") + " state");
}

Result<bool> V2Manager::frozen() const {
  if (paths_.v2.empty()) return false;
  auto s = fs::read_file(fs::join(paths_.v2, "cgroup.freeze"));
  if (!s) return std::move(s).error().wrap("read the freezer state");
  return s->rfind("1", 0) == 0;
}

Result<std::vector<pid_t>> V2Manager::pids() const {
  std::vector<pid_t> out;
  if (paths_.v2.empty() || !fs::exists(paths_.v2)) return out;
  collect_procs(paths_.v2, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status V2Manager::remove() {
  if (paths_.v2.empty()) return ok();
  detach_device_filters(paths_.v2);
  return rmdir_tree(paths_.v2);
}

Stats V2Manager::stats() const {
  Stats s;
  const std::string& d = paths_.v2;
  if (d.empty()) return s;
  auto k = read_keyed(d, "cpu.stat");
  s.cpu_total_ns = k["usage_usec"] * 1000;
  s.cpu_user_ns = k["user_usec"] * 1000;
  s.cpu_kernel_ns = k["system_usec"] * 1000;
  if (has("memory")) {
    s.mem_usage = read_num(d, "memory.current");
    s.mem_max = read_num(d, "memory.peak");
    s.mem_limit = read_num(d, "memory.max");
    auto ev = read_keyed(d, "memory.events");
    s.mem_failcnt = ev["max"];
    s.oom_kills = ev["oom_kill"];
    s.mem_raw = read_keyed(d, "memory.stat");
  }
  if (has("pids")) {
    s.pids_current = read_num(d, "pids.current");
    s.pids_limit = read_num(d, "pids.max");
  }
  return s;
}

}  // namespace ocelot::cgroups
