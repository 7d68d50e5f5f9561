#include "cgroups/manager.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "cgroups/fs_v1.h"
#include "cgroups/fs_v2.h"
#include "cgroups/hybrid.h"

namespace ocelot::cgroups {

std::unique_ptr<Manager> make_fs_manager(const Layout& layout, const Paths& paths) {
  switch (layout.mode) {
    case Mode::v1: return std::make_unique<V1Manager>(layout, paths);
    case Mode::v2: return std::make_unique<V2Manager>(layout, paths);
    case Mode::hybrid: return std::make_unique<HybridManager>(layout, paths);
  }
  return std::make_unique<V2Manager>(layout, paths);
}

Status kill_all(Manager& m, int sig) {
  bool froze = sig == SIGKILL && m.freeze(true).ok();
  auto p = m.pids();
  if (!p) {
    if (froze) (void)m.freeze(false);
    return std::move(p).error();
  }
  for (pid_t pid : *p)
    if (::kill(pid, sig) != 0 && errno != ESRCH) {
      Error e = Error::last("kill " + std::to_string(pid));
      if (froze) (void)m.freeze(false);
      return e;
    }
  if (froze) (void)m.freeze(false);
  return ok();
}

Status destroy(Manager& m) {
  auto p = m.pids();
  if (p && !p->empty()) (void)kill_all(m, SIGKILL);
  return m.remove();
}

std::vector<std::string> missing_levels(const Paths& p) {
  std::vector<std::string> tops;
  for (const auto& [c, d] : p.v1) tops.push_back(d);
  if (!p.v2.empty()) tops.push_back(p.v2);
  std::vector<std::string> out;
  for (std::string d : tops) {
    while (d.size() > 1 && !fs::exists(d)) {
      out.push_back(d);
      d = fs::dirname(d);
    }
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status remove_levels(const std::vector<std::string>& dirs) {
  Status first;
  for (const auto& d : dirs) {
    auto st = detail::rmdir_tree(d);
    if (!st && first.ok()) first = st;
  }
  return first;
}

namespace detail {

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

Status mkdir_levels(const std::string& mount, const std::string& dir, bool cpuset,
                    const std::vector<std::string>& enable) {
  std::string rel = dir.substr(mount.size());
  std::string cur = mount;
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i + 1);
    if (j == std::string::npos) j = rel.size();
    std::string part = rel.substr(i, j - i);
    i = j;
    if (part == "/" || part.empty()) continue;
    // cgroup2: the parent must delegate a controller before a child can use it.
    for (const auto& c : enable) {
      auto st = fs::write_existing(fs::join(cur, "cgroup.subtree_control"), "+" + c);
      if (!st) log::debug("enable " + c + " in \"" + cur + "\": " + st.error().msg);
    }
    cur += part;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::last("mkdir cgroup \"" + cur + "\"");
    if (cpuset) OCL_CHECK(init_cpuset_level(cur));
  }
  return ok();
}

bool has_processes(const std::string& dir) {
  std::vector<pid_t> p;
  collect_procs(dir, p);
  return !p.empty();
}

void collect_procs(const std::string& dir, std::vector<pid_t>& out) {
  auto t = fs::read_file(fs::join(dir, "cgroup.procs"));
  if (t) {
    std::istringstream in(*t);
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  // Nested cgroups made by the workload count too.
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') collect_procs(fs::join(dir, e->d_name), out);
    ::closedir(d);
  }
}

Status rmdir_tree(const std::string& dir) {
  // Most cgroups have no children: try the rmdir before listing.
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
  if (DIR* d = ::opendir(dir.c_str())) {
    std::vector<std::string> kids;
    while (auto* e = ::readdir(d))
      if (e->d_type == DT_DIR && e->d_name[0] != '.') kids.push_back(fs::join(dir, e->d_name));
    ::closedir(d);
    for (auto& k : kids) OCL_CHECK(rmdir_tree(k));
  }
  for (int i = 0; i < 400; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
    if (errno != EBUSY) return Error::last("remove cgroup \"" + dir + "\"");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Error::sys(EBUSY, "remove cgroup \"" + dir + "\"");
}

Status write_one(const std::string& dir, const FileWrite& w) {
  std::string f = fs::join(dir, w.file);
  if (w.optional && !fs::exists(f)) {
    log::warn("linux.resources: " + w.file + " is not supported by this kernel (\"" + f +
              "\" does not exist), not set");
    return ok();
  }
  auto st = fs::write_existing(f, w.value);
  if (!st) return std::move(st).error().wrap("set " + w.file + " to " + quote(w.value));
  return ok();
}

Error missing_controller(const std::string& c) {
  return Error::make("linux.resources: the \"" + c + "\" cgroup controller is not available on this host");
}

uint64_t read_num(const std::string& dir, const char* file) {
  auto t = fs::read_file(fs::join(dir, file));
  if (!t || t->rfind("max", 0) == 0) return 0;
  return std::strtoull(t->c_str(), nullptr, 10);
}

std::map<std::string, uint64_t> read_keyed(const std::string& dir, const char* file) {
  std::map<std::string, uint64_t> out;
  auto t = fs::read_file(fs::join(dir, file));
  if (!t) return out;
  std::istringstream in(*t);
  std::string k;
  uint64_t v;
  while (in >> k >> v) out[k] = v;
  return out;
}

}  // namespace detail
}  // namespace ocelot::cgroups
