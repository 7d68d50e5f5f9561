#include "cgroups/fs_v1.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "base/unique_fd.h"

namespace ocelot::cgroups {

using namespace detail;

std::string V1Manager::dir_for(const std::string& c) const {
  auto it = paths_.v1.find(c);
  return it == paths_.v1.end() ? "" : it->second;
}

std::vector<std::string> V1Manager::dirs() const {
  std::set<std::string> s;
  for (const auto& [c, d] : paths_.v1) s.insert(d);
  return {s.begin(), s.end()};
}

bool V1Manager::occupied() const {
  for (const auto& d : dirs())
    if (fs::is_dir(d) && has_processes(d)) return true;
  return false;
}

Status V1Manager::create() {
  std::set<std::string> done;
  for (const auto& [c, d] : paths_.v1) {
    if (!done.insert(d).second) continue;
    const auto& h = layout_.v1.at(c);
    bool cpuset = (c == "cpuset" || h.mount_point.find("cpuset") != std::string::npos) &&
                  fs::exists(fs::join(h.mount_point, "cpuset.cpus"));
    OCL_CHECK(mkdir_levels(h.mount_point, d, cpuset, {}));
  }
  return ok();
}

Status V1Manager::add_process(pid_t pid) {
  std::string s = std::to_string(pid);
  for (const auto& d : dirs()) OCL_CHECK_CTX(fs::write_existing(fs::join(d, "cgroup.procs"), s), "join cgroup");
  return ok();
}

Status V1Manager::write_plan(const Plan& p) {
  for (auto& w : p.warnings) log::warn(w);
  // memory.limit_in_bytes may not exceed memory.memsw.limit_in_bytes at any moment: raising both
  // needs memsw first, lowering both needs the limit first. Write the limit, and if the kernel
  // refuses it, memsw first and the limit again.
  bool retry_limit = false;
  std::string mem_limit;
  for (const auto& w : p.writes) {
    std::string dir = dir_for(w.controller);
    if (dir.empty()) return missing_controller(w.controller);
    if (w.file == "memory.limit_in_bytes") {
      auto st = fs::write_existing(fs::join(dir, w.file), w.value);
      if (!st && st.error().code == EINVAL) {
        retry_limit = true;
        mem_limit = w.value;
        continue;
      }
      if (!st) return std::move(st).error().wrap("set " + w.file + " to " + quote(w.value));
      continue;
    }
    OCL_CHECK(write_one(dir, w));
  }
  if (retry_limit)
    OCL_CHECK(write_one(dir_for("memory"), FileWrite{"memory", "memory.limit_in_bytes", mem_limit, false}));
  return ok();
}

Status V1Manager::write_devices(const std::vector<spec::DeviceCgroup>& rules,
                                const std::vector<spec::DeviceCgroup>& extra_allowed) {
  if (rules.empty()) return ok();
  std::string d = dir_for("devices");
  if (d.empty()) return missing_controller("devices");
  std::vector<spec::DeviceCgroup> all = rules;
  for (auto& x : default_allowed_devices()) all.push_back(x);
  for (auto& x : extra_allowed) all.push_back(x);
  // One write per rule (the kernel parses one rule per write), on the two files opened once.
  UniqueFd files[2];
  for (const auto& rule : all) {
    UniqueFd& fd = files[rule.allow ? 1 : 0];
    std::string f = fs::join(d, rule.allow ? "devices.allow" : "devices.deny");
    if (!fd.valid()) fd.reset(::open(f.c_str(), O_WRONLY | O_CLOEXEC));
    std::string text = v1_device_rule(rule);
    if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return Error::last("write \"" + f + "\"").wrap("set device rule " + quote(text));
  }
  return ok();
}

Status V1Manager::apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra_allowed) {
  OCL_CHECK(write_plan(OCL_TRY(plan_v1(r))));
  return write_devices(r.devices, extra_allowed);
}

Status V1Manager::freeze(bool frozen) {
  std::string d = dir_for("freezer");
  if (d.empty()) return Error::make("no freezer controller on this host");
  std::string f = fs::join(d, "freezer.state");
  OCL_CHECK(fs::write_existing(f, frozen ? "FROZEN" : "THAWED"));
  // The kernel may report FREEZING for a while: wait until the state settles.
  for (int i = 0; i < 1000; ++i) {
    auto s = fs::read_file(f);
    if (!s) return std::move(s).error();
    if (s->rfind(frozen ? "FROZEN" : "THAWED", 0) == 0) return ok();
    if (frozen && i % 50 == 49) (void)fs::write_existing(f, "FROZEN");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Error::make("freezer of \"" + d + "\" did not settle");
}

Result<bool> V1Manager::frozen() const {
  std::string d = dir_for("freezer");
  if (d.empty()) return false;
  auto s = fs::read_file(fs::join(d, "freezer.state"));
  if (!s) return std::move(s).error().wrap("read the freezer state");
  return s->rfind("FROZEN", 0) == 0 || s->rfind("FREEZING", 0) == 0;
}

Result<std::vector<pid_t>> V1Manager::pids() const {
  std::string dir = dir_for("pids");
  if (dir.empty()) dir = dir_for("memory");
  if (dir.empty() && !paths_.v1.empty()) dir = paths_.v1.begin()->second;
  std::vector<pid_t> out;
  if (dir.empty() || !fs::exists(dir)) return out;
  collect_procs(dir, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status V1Manager::remove() {
  Status first;
  for (const auto& d : dirs()) {
    auto st = rmdir_tree(d);
    if (!st && first.ok()) first = st;
  }
  return first;
}

Stats V1Manager::stats() const {
  Stats s;
  if (auto d = dir_for("cpuacct"); !d.empty()) {
    s.cpu_total_ns = read_num(d, "cpuacct.usage");
    s.cpu_user_ns = read_num(d, "cpuacct.usage_user");
    s.cpu_kernel_ns = read_num(d, "cpuacct.usage_sys");
  }
  if (auto d = dir_for("memory"); !d.empty()) {
    s.mem_usage = read_num(d, "memory.usage_in_bytes");
    s.mem_max = read_num(d, "memory.max_usage_in_bytes");
    s.mem_limit = read_num(d, "memory.limit_in_bytes");
    s.mem_failcnt = read_num(d, "memory.failcnt");
    s.oom_kills = read_keyed(d, "memory.oom_control")["oom_kill"];
    s.mem_raw = read_keyed(d, "memory.stat");
  }
  if (auto d = dir_for("pids"); !d.empty()) {
    s.pids_current = read_num(d, "pids.current");
    s.pids_limit = read_num(d, "pids.max");
  }
  return s;
}

}  // namespace ocelot::cgroups
