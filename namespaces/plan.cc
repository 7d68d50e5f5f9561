#include "namespaces/plan.h"

#include <sched.h>

#include <algorithm>

#include "spec/names.h"

namespace ocelot::ns {

const std::vector<std::string>& join_order() {
  static const std::vector<std::string> order = {"user", "ipc", "uts", "network", "cgroup", "mount"};
  return order;
}

bool NsPlan::has(const std::string& type) const {
  if (type == "user") return new_user || join_user;
  if (type == "pid") return new_pid || !pid_path.empty();
  if (type == "time") return new_time || !time_path.empty();
  if (type == "cgroup" && new_cgroup) return true;
  int flag = spec::namespace_flag(type).value_or(0);
  if ((clone_flags | unshare_flags) & flag) return true;
  for (const auto& j : joins)
    if (j.type == type) return true;
  return false;
}

Result<NsPlan> plan_namespaces(const spec::Linux& l) {
  NsPlan p;
  const spec::Namespace* user = l.find_namespace("user");
  p.join_user = user && !user->path.empty();
  p.new_user = user && user->path.empty();
  if (p.new_user) p.clone_flags |= CLONE_NEWUSER;
  for (const auto& n : l.namespaces) {
    auto flag = spec::namespace_flag(n.type);
    if (!flag) return Error::make("linux.namespaces: unknown namespace type " + quote(n.type));
    if (*flag == CLONE_NEWUSER) continue;
    if (*flag == CLONE_NEWPID) {
      if (n.path.empty()) {
        p.new_pid = true;
        p.clone_flags |= CLONE_NEWPID;
      } else {
        p.pid_path = n.path;
      }
      continue;
    }
    if (*flag == CLONE_NEWTIME) {
      if (n.path.empty())
        p.new_time = true;
      else
        p.time_path = n.path;
      continue;
    }
    if (!n.path.empty()) {
      p.joins.push_back({n.type, *flag, n.path});
      continue;
    }
    if (*flag == CLONE_NEWNS) p.new_mount = true;
    if (*flag == CLONE_NEWCGROUP)
      p.new_cgroup = true;
    else if (p.join_user)
      p.unshare_flags |= *flag;
    else
      p.clone_flags |= *flag;
  }
  if (user && p.join_user) p.joins.push_back({"user", CLONE_NEWUSER, user->path});
  const auto& order = join_order();
  std::stable_sort(p.joins.begin(), p.joins.end(), [&](const NsJoin& a, const NsJoin& b) {
    return std::find(order.begin(), order.end(), a.type) < std::find(order.begin(), order.end(), b.type);
  });
  return p;
}

}  // namespace ocelot::ns
