// A container's cgroup in every hierarchy the host has: created, joined, limited, frozen, listed,
// killed and removed. One implementation serves v1, v2 and hybrid hosts: each controller is driven in
// the hierarchy that holds it (Layout::where), so a hybrid host's hugetlb goes to cgroup2 while its
// memory goes to v1. Knows nothing of containers: it is given directories.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "cgroups/layout.h"
#include "cgroups/plan.h"
#include "base/error.h"
#include "spec/config.h"

namespace ocelot::cgroups {

// Absolute directories of one cgroup: per v1 controller, and the cgroup2 one.
struct Paths {
  std::map<std::string, std::string> v1;
  std::string v2;
};

// cgroups_path: linux.cgroupsPath ("" -> /ocelot/<id>; relative -> under the caller's own cgroup;
// "slice:prefix:name" -> the systemd unit's cgroupfs path, with a warning when systemd is absent).
// own: parse_proc_cgroup() of the caller.
Result<Paths> resolve_paths(const Layout& l, const std::string& cgroups_path, const std::string& id,
                            const std::map<std::string, std::string>& own);
// "machine.slice:libpod:abc" -> "/machine.slice/libpod-abc.scope"; "a-b.slice" nests as a.slice/a-b.slice.
Result<std::string> systemd_to_cgroupfs(const std::string& path);

class Manager {
 public:
  Manager(Layout layout, Paths paths) : layout_(std::move(layout)), paths_(std::move(paths)) {}

  Status create();
  Status add_process(pid_t pid);
  // Writes the plan for r into the hierarchy of each controller. Warnings go to log::warn.
  // extra_allowed: device rules added after the defaults (runc allows linux.devices nodes).
  Status apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra_allowed = {});
  Status freeze(bool frozen);
  bool is_frozen() const;
  Result<std::vector<pid_t>> pids() const;
  Status kill_all(int sig);
  // Kills what is left, then removes every directory (retrying while the kernel says EBUSY).
  Status destroy();

  const Paths& paths() const { return paths_; }
  const Layout& layout() const { return layout_; }
  // The directory that holds controller c's files, "" if none.
  std::string dir_for(const std::string& c) const;

 private:
  Status write_plan(const Plan& p, bool v2);
  std::vector<std::string> all_dirs() const;
  Layout layout_;
  Paths paths_;
};

}  // namespace ocelot::cgroups
