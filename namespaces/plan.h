// The namespace plan: which of the container's namespaces are created and which are joined, by
// whom and in which order. Pure (no kernel, no files): unit-tested in tests/unit/test_ns_plan.cc.
//
// Who does what (the kernel's rules decide it, see namespaces(7), setns(2), clone(2)):
//   - pid and time namespaces apply to the *children* of the caller, so the parent enters them
//     around clone(): a pid namespace by path is joined by the parent, a new one is a clone flag;
//     a new time namespace is unshared by the parent (its offsets must be written before any
//     process lives in it), one by path is joined by the parent.
//   - a new user namespace is a clone flag, so every other new namespace is owned by it;
//   - with a user namespace joined by path, the other new namespaces must be created *after*
//     joining it (so that it owns them): the child unshares them;
//   - a new cgroup namespace is unshared by the child only after the parent has moved it into its
//     cgroups, so that the namespace's root is the container's cgroup;
//   - namespaces joined by path are joined by the child in `joins` order: user first (it grants
//     the capabilities for the rest), mount last.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::ns {

struct NsJoin {
  std::string type;  // "user", "network", ...
  int flag = 0;      // CLONE_NEWUSER, ...
  std::string path;
};

struct NsPlan {
  int clone_flags = 0;    // created by clone() itself
  int unshare_flags = 0;  // created by the child after its joins (owned by a joined user namespace)
  bool new_user = false, join_user = false;
  bool new_pid = false, new_mount = false;
  bool new_cgroup = false;          // unshared by the child once it is in its cgroups
  bool new_time = false;            // unshared by the parent around clone()
  std::string pid_path, time_path;  // joined by the parent around clone()
  std::vector<NsJoin> joins;        // joined by the child, in this order
  // Does the container have its own copy of this namespace type (new, or joined by path)?
  bool has(const std::string& type) const;
};

Result<NsPlan> plan_namespaces(const spec::Linux& l);

// The order in which a child joins namespaces by path (and exec joins the container's): user
// first, mount last.
const std::vector<std::string>& join_order();

}  // namespace ocelot::ns
