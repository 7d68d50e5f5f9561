#include "namespaces/join.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "spec/names.h"

namespace ocelot::ns {

std::vector<std::pair<int, int>> NsFds::raw_joins() const {
  std::vector<std::pair<int, int>> out;
  for (const auto& [flag, fd] : joins) out.emplace_back(flag, fd.get());
  return out;
}

static std::string type_of(int flag) {
  for (const auto& t : spec::all_namespace_types())
    if (spec::namespace_flag(t) == flag) return t;
  return "unknown";
}

static Result<UniqueFd> open_ns(const std::string& type, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::last("open " + type + " namespace " + quote(path));
  return fd;
}

Result<NsFds> open_namespace_paths(const NsPlan& p) {
  NsFds out;
  for (const auto& j : p.joins) out.joins.emplace_back(j.flag, OCL_TRY(open_ns(j.type, j.path)));
  if (!p.pid_path.empty()) out.pid = OCL_TRY(open_ns("pid", p.pid_path));
  if (!p.time_path.empty()) out.time = OCL_TRY(open_ns("time", p.time_path));
  return out;
}

bool same_namespace(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

Result<NsFds> open_process_namespaces(pid_t pid) {
  NsFds out;
  std::string base = "/proc/" + std::to_string(pid) + "/ns/";
  auto open_if_other = [&](const std::string& type) -> Result<UniqueFd> {
    std::string name = spec::namespace_proc_name(type);
    std::string path = base + name;
    if (!fs::exists(path) || same_namespace(path, "/proc/self/ns/" + name)) return UniqueFd();
    return open_ns(type, path);
  };
  for (const auto& t : join_order()) {
    UniqueFd fd = OCL_TRY(open_if_other(t));
    if (fd.valid()) out.joins.emplace_back(*spec::namespace_flag(t), std::move(fd));
  }
  out.pid = OCL_TRY(open_if_other("pid"));
  // A process's time namespace for its children is time_for_children; its own is "time".
  out.time = OCL_TRY(open_if_other("time"));
  return out;
}

ChildNamespaces::~ChildNamespaces() {
  if (own_pid_.valid()) (void)::setns(own_pid_.get(), CLONE_NEWPID);
  if (own_time_.valid()) (void)::setns(own_time_.get(), CLONE_NEWTIME);
}

Result<ChildNamespaces> ChildNamespaces::enter(const NsPlan& p, const NsFds& fds, const spec::Linux& l) {
  ChildNamespaces c;
  if (fds.pid.valid()) {
    c.own_pid_.reset(::open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
    if (!c.own_pid_.valid()) return Error::last("open our pid namespace");
    if (::setns(fds.pid.get(), CLONE_NEWPID) != 0) return Error::last("join pid namespace");
  }
  if (fds.time.valid() || p.new_time) {
    c.own_time_.reset(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!c.own_time_.valid()) return Error::last("open our time namespace");
  }
  if (fds.time.valid()) {
    if (::setns(fds.time.get(), CLONE_NEWTIME) != 0) return Error::last("join time namespace");
  } else if (p.new_time) {
    if (::unshare(CLONE_NEWTIME) != 0) return Error::last("create time namespace");
    // Offsets can be written only while no process lives in the new namespace: now.
    std::string offs;
    for (const auto& [clock, secs] : l.time_offsets_secs) {
      auto ns = l.time_offsets_nanosecs.find(clock);
      offs += clock + " " + std::to_string(secs) + " " +
              std::to_string(ns == l.time_offsets_nanosecs.end() ? 0 : ns->second) + "\n";
    }
    if (!offs.empty())
      OCL_CHECK_CTX(fs::write_existing("/proc/self/timens_offsets", offs), "set time namespace offsets");
  }
  return c;
}

Status join_namespaces_in_child(const std::vector<std::pair<int, int>>& joins) {
  for (const auto& [flag, fd] : joins) {
    if (::setns(fd, flag) != 0) return Error::last("join " + type_of(flag) + " namespace");
    if (flag == CLONE_NEWUSER) {
      // We keep our ids across setns; become root of the namespace we joined, or say why not.
      if (::syscall(SYS_setresgid, 0, 0, 0) != 0) return Error::last("become gid 0 in the joined user namespace");
      if (::syscall(SYS_setresuid, 0, 0, 0) != 0) return Error::last("become uid 0 in the joined user namespace");
    }
  }
  return ok();
}

Status unshare_namespaces_in_child(int flags) {
  if (flags && ::unshare(flags) != 0) return Error::last("create namespaces");
  return ok();
}

}  // namespace ocelot::ns
