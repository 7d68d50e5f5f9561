#include "cgroups/manager.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include "base/fs.h"
#include "base/log.h"

namespace ocelot::cgroups {

Result<std::string> systemd_to_cgroupfs(const std::string& path) {
  auto a = path.find(':');
  auto b = path.find(':', a + 1);
  if (a == std::string::npos || b == std::string::npos || path.find(':', b + 1) != std::string::npos)
    return Error::make("cgroupsPath \"" + path + "\": expected \"slice:prefix:name\"");
  std::string slice = path.substr(0, a), prefix = path.substr(a + 1, b - a - 1), name = path.substr(b + 1);
  if (name.empty()) return Error::make("cgroupsPath \"" + path + "\": the name part is empty");
  if (slice.empty()) slice = "system.slice";
  if (slice.size() < 7 || slice.substr(slice.size() - 6) != ".slice")
    return Error::make("cgroupsPath \"" + path + "\": \"" + slice + "\" is not a slice");
  // "a-b-c.slice" lives at a.slice/a-b.slice/a-b-c.slice.
  std::string out;
  std::string stem = slice.substr(0, slice.size() - 6);
  if (stem != "-") {
    size_t i = 0;
    for (;;) {
      size_t j = stem.find('-', i);
      out += "/" + stem.substr(0, j == std::string::npos ? stem.size() : j) + ".slice";
      if (j == std::string::npos) break;
      i = j + 1;
    }
  }
  std::string unit = name.size() > 6 && name.substr(name.size() - 6) == ".slice"
                         ? name
                         : (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  return out + "/" + unit;
}

// The caller's own cgroup path relative to a mount's root.
static std::string own_rel(const std::string& own_path, const std::string& mount_root) {
  if (mount_root == "/" || own_path.rfind(mount_root, 0) != 0) return own_path;
  std::string rest = own_path.substr(mount_root.size());
  return rest.empty() ? "/" : rest;
}

Result<Paths> resolve_paths(const Layout& l, const std::string& cgroups_path, const std::string& id,
                            const std::map<std::string, std::string>& own) {
  std::string p = cgroups_path;
  bool relative = false;
  if (p.empty()) {
    p = "/ocelot/" + id;
  } else if (p.find(':') != std::string::npos) {
    p = OCL_TRY(systemd_to_cgroupfs(p));
    log::warn("cgroupsPath \"" + cgroups_path + "\" is a systemd unit and systemd is not managing cgroups here; using cgroupfs path \"" + p + "\"");
  } else if (p[0] != '/') {
    relative = true;
  }
  if (fs::clean_abs("/" + p) != "/" + std::string(p[0] == '/' ? p.substr(1) : p) && p.find("..") != std::string::npos)
    return Error::make("cgroupsPath \"" + cgroups_path + "\": must not contain \"..\"");
  Paths out;
  for (const auto& [ctl, h] : l.v1) {
    std::string base = "/";
    if (relative) {
      auto it = own.find(ctl);
      if (it != own.end()) base = own_rel(it->second, h.root);
    }
    out.v1[ctl] = fs::clean_abs(fs::join(fs::join(h.mount_point, base), p));
  }
  if (!l.v2_mount.empty()) {
    std::string base = "/";
    if (relative) {
      auto it = own.find("");
      if (it != own.end()) base = own_rel(it->second, l.v2_root);
    }
    out.v2 = fs::clean_abs(fs::join(fs::join(l.v2_mount, base), p));
  }
  // A path that lands on a hierarchy's root (also "." relative to a caller in the root cgroup)
  // would make every host process the container's: delete would kill them all.
  auto root_error = [&] {
    return Error::make("cgroupsPath \"" + cgroups_path + "\": resolves to the root cgroup, which cannot be a container's cgroup");
  };
  for (const auto& [ctl, dir] : out.v1)
    if (dir == fs::clean_abs(l.v1.at(ctl).mount_point)) return root_error();
  if (!out.v2.empty() && out.v2 == fs::clean_abs(l.v2_mount)) return root_error();
  return out;
}

std::string Manager::dir_for(const std::string& c) const {
  std::string w = layout_.where(c);
  if (w == "v1") {
    auto it = paths_.v1.find(c);
    return it == paths_.v1.end() ? "" : it->second;
  }
  if (w == "v2") return paths_.v2;
  return "";
}

std::vector<std::string> Manager::all_dirs() const {
  std::set<std::string> s;
  for (auto& [c, d] : paths_.v1) s.insert(d);
  if (!paths_.v2.empty()) s.insert(paths_.v2);
  return {s.begin(), s.end()};
}

// A new v1 cpuset cgroup starts with empty cpus and mems, and refuses tasks until they are set:
// copy them down from the parent at each level we create.
static Status init_cpuset_level(const std::string& dir) {
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    std::string mine = fs::join(dir, f);
    auto cur = fs::read_file(mine);
    if (!cur) return std::move(cur).error();
    if (cur->find_first_not_of(" \n") != std::string::npos) continue;
    auto parent = fs::read_file(fs::join(fs::dirname(dir), f));
    if (!parent) return std::move(parent).error();
    OCL_CHECK(fs::write_existing(mine, *parent));
  }
  return ok();
}

static Status mkdir_levels(const std::string& mount, const std::string& dir, bool cpuset,
                           const std::vector<std::string>& v2_enable) {
  std::string rel = dir.substr(mount.size());
  std::string cur = mount;
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i + 1);
    if (j == std::string::npos) j = rel.size();
    std::string part = rel.substr(i, j - i);
    i = j;
    if (part == "/" || part.empty()) continue;
    // Enable the controllers we need at each parent before creating the child (cgroup2).
    for (const auto& c : v2_enable) {
      auto st = fs::write_existing(fs::join(cur, "cgroup.subtree_control"), "+" + c);
      if (!st) log::debug("enable " + c + " in \"" + cur + "\": " + st.error().msg);
    }
    cur += part;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::last("mkdir cgroup \"" + cur + "\"");
    if (cpuset) OCL_CHECK(init_cpuset_level(cur));
  }
  return ok();
}

Status Manager::create() {
  std::set<std::string> done;
  for (const auto& [c, d] : paths_.v1) {
    if (!done.insert(d).second) continue;
    const auto& h = layout_.v1.at(c);
    bool cpuset = h.mount_point.find("cpuset") != std::string::npos ||
                  (c == "cpuset");
    OCL_CHECK(mkdir_levels(h.mount_point, d, cpuset && fs::exists(fs::join(h.mount_point, "cpuset.cpus")), {}));
  }
  if (!paths_.v2.empty()) {
    std::vector<std::string> enable(layout_.v2_controllers.begin(), layout_.v2_controllers.end());
    OCL_CHECK(mkdir_levels(layout_.v2_mount, paths_.v2, false, enable));
  }
  return ok();
}

Status Manager::add_process(pid_t pid) {
  std::string s = std::to_string(pid);
  for (const auto& d : all_dirs()) OCL_CHECK_CTX(fs::write_existing(fs::join(d, "cgroup.procs"), s), "join cgroup");
  return ok();
}

Status Manager::write_plan(const Plan& p, bool v2) {
  for (const auto& w : p.writes) {
    std::string c = w.controller;
    std::string dir;
    if (v2) {
      if (c.empty() || c == "cgroup") dir = paths_.v2;
      else if (layout_.where(c) == "v2") dir = paths_.v2;
      else continue;  // the controller lives in v1 on this host
    } else {
      if (layout_.where(c) != "v1") continue;
      dir = paths_.v1.at(c);
    }
    if (dir.empty()) continue;
    std::string f = fs::join(dir, w.file);
    if (w.optional && !fs::exists(f)) {
      log::debug("cgroup file \"" + f + "\" does not exist, skipped");
      continue;
    }
    auto st = fs::write_existing(f, w.value);
    if (!st && st.error().code == EINVAL && w.file == "memory.limit_in_bytes") {
      // Lowering memory below memsw (or raising above it) needs the other order: memsw first.
      continue;
    }
    if (!st) return std::move(st).error().wrap("set " + w.file + " to \"" + w.value + "\"");
  }
  return ok();
}

Status Manager::apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra_allowed) {
  bool any_v1 = false;
  for (auto& [c, h] : layout_.v1)
    if (c.rfind("name=", 0) != 0) any_v1 = true;
  bool needs_v2_only = !r.unified.empty();
  if (any_v1) {
    spec::Resources v1r = r;
    v1r.unified.clear();  // raw cgroup2 keys go to the v2 plan below
    auto p = OCL_TRY(plan_v1(v1r));
    for (auto& w : p.warnings) log::warn(w);
    OCL_CHECK(write_plan(p, false));
    // memory.limit_in_bytes may have been refused until memsw was raised: try once more.
    if (r.memory && r.memory->limit && *r.memory->limit != 0 && layout_.where("memory") == "v1") {
      auto f = fs::join(paths_.v1.at("memory"), "memory.limit_in_bytes");
      auto st = fs::write_existing(f, std::to_string(*r.memory->limit));
      if (!st) return std::move(st).error().wrap("set memory.limit_in_bytes to \"" + std::to_string(*r.memory->limit) + "\"");
    }
    if (!r.devices.empty() && layout_.where("devices") == "v1") {
      std::string d = paths_.v1.at("devices");
      std::vector<spec::DeviceCgroup> rules = r.devices;
      for (auto& x : default_allowed_devices()) rules.push_back(x);
      for (auto& x : extra_allowed) rules.push_back(x);
      for (const auto& rule : rules) {
        std::string f = fs::join(d, rule.allow ? "devices.allow" : "devices.deny");
        OCL_CHECK_CTX(fs::write_existing(f, v1_device_rule(rule)), "set device rule \"" + v1_device_rule(rule) + "\"");
      }
    }
  }
  if (!paths_.v2.empty() && (layout_.mode == Mode::v2 || !layout_.v2_controllers.empty() || needs_v2_only)) {
    spec::Resources v2r = r;
    v2r.devices.clear();
    auto p = OCL_TRY(plan_v2(v2r));
    if (layout_.mode == Mode::v2)
      for (auto& w : p.warnings) log::warn(w);
    OCL_CHECK(write_plan(p, true));
    if (layout_.mode == Mode::v2 && !r.devices.empty())
      log::warn("linux.resources.devices: the cgroup v2 device controller (eBPF) is not implemented yet; rules not enforced");
  } else if (needs_v2_only) {
    return Error::make("linux.resources.unified: needs cgroup v2, and this host has only cgroup v1");
  }
  return ok();
}

Status Manager::freeze(bool frozen) {
  if (layout_.where("freezer") == "v1") {
    std::string f = fs::join(paths_.v1.at("freezer"), "freezer.state");
    OCL_CHECK(fs::write_existing(f, frozen ? "FROZEN" : "THAWED"));
    // The kernel may report FREEZING for a while: wait until the state settles.
    for (int i = 0; i < 1000; ++i) {
      auto s = fs::read_file(f);
      if (!s) return std::move(s).error();
      if (s->rfind(frozen ? "FROZEN" : "THAWED", 0) == 0) return ok();
      if (frozen && i % 50 == 49) (void)fs::write_existing(f, "FROZEN");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Error::make("freezer of \"" + paths_.v1.at("freezer") + "\" did not settle");
  }
  if (!paths_.v2.empty() && fs::exists(fs::join(paths_.v2, "cgroup.freeze"))) {
    OCL_CHECK(fs::write_existing(fs::join(paths_.v2, "cgroup.freeze"), frozen ? "1" : "0"));
    for (int i = 0; i < 1000; ++i) {
      auto ev = fs::read_file(fs::join(paths_.v2, "cgroup.events"));
      if (ev && ev->find(frozen ? "frozen 1" : "frozen 0") != std::string::npos) return ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return Error::make("cgroup \"" + paths_.v2 + "\" did not reach the frozen state");
  }
  return Error::make("no freezer controller on this host");
}

bool Manager::is_frozen() const {
  if (layout_.where("freezer") == "v1") {
    auto s = fs::read_file(fs::join(paths_.v1.at("freezer"), "freezer.state"));
    return s && (s->rfind("FROZEN", 0) == 0 || s->rfind("FREEZING", 0) == 0);
  }
  if (!paths_.v2.empty()) {
    auto s = fs::read_file(fs::join(paths_.v2, "cgroup.freeze"));
    return s && s->rfind("1", 0) == 0;
  }
  return false;
}

static void collect_procs(const std::string& dir, std::vector<pid_t>& out) {
  auto t = fs::read_file(fs::join(dir, "cgroup.procs"));
  if (t) {
    std::istringstream in(*t);
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  // Nested cgroups made by the workload count too.
  std::string ls = dir;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') collect_procs(fs::join(dir, e->d_name), out);
    ::closedir(d);
  }
}

Result<std::vector<pid_t>> Manager::pids() const {
  std::string dir = dir_for("pids");
  if (dir.empty()) dir = dir_for("memory");
  if (dir.empty()) dir = paths_.v2;
  if (dir.empty() && !paths_.v1.empty()) dir = paths_.v1.begin()->second;
  std::vector<pid_t> out;
  if (!fs::exists(dir)) return out;
  collect_procs(dir, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status Manager::kill_all(int sig) {
  // Freeze first so that nothing forks between listing and killing (as runc does).
  bool froze = sig == SIGKILL && freeze(true).ok();
  auto p = pids();
  if (!p) return std::move(p).error();
  for (pid_t pid : *p)
    if (::kill(pid, sig) != 0 && errno != ESRCH) {
      if (froze) (void)freeze(false);
      return Error::last("kill " + std::to_string(pid));
    }
  if (froze) (void)freeze(false);
  return ok();
}

static Status rmdir_tree(const std::string& dir) {
  // Most cgroups have no children: try the rmdir before listing.
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> kids;
    while (auto* e = ::readdir(d))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') kids.push_back(fs::join(dir, e->d_name));
    ::closedir(d);
    for (auto& k : kids) OCL_CHECK(rmdir_tree(k));
  }
  for (int i = 0; i < 200; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
    if (errno != EBUSY) return Error::last("remove cgroup \"" + dir + "\"");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Error::sys(EBUSY, "remove cgroup \"" + dir + "\"");
}

Status Manager::destroy() {
  std::string procs_dir = dir_for("pids").empty() ? (paths_.v2.empty() ? "" : paths_.v2) : dir_for("pids");
  auto procs = procs_dir.empty() ? Result<std::string>(std::string()) : fs::read_file(fs::join(procs_dir, "cgroup.procs"));
  // Anything left (or nested cgroups we cannot see from here) is killed first.
  if (!procs || !procs->empty()) {
    auto p = pids();
    if (p && !p->empty()) (void)kill_all(SIGKILL);
  }
  Status first;
  for (const auto& d : all_dirs()) {
    auto st = rmdir_tree(d);
    if (!st && first.ok()) first = st;
  }
  return first;
}

}  // namespace ocelot::cgroups
