// Rootless mode (runc's --rootless): ocelot run by a user without root, with the config from
// `ocelot spec --rootless` (a user namespace mapping the caller to root). What changes is what an
// unprivileged user cannot do: create cgroups where nothing is delegated to it (every cgroup v1
// or hybrid host, a v2 host without a delegated subtree), and write id maps beyond its own ids
// (newuidmap/newgidmap do that, from /etc/subuid and /etc/subgid).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "cgroups/paths.h"
#include "runtime/options.h"
#include "spec/config.h"

namespace ocelot::runtime {

// Are we in a user namespace other than the host's (as under rootless podman, where we are
// "root" in a namespace podman made)? Pure form: uid_map is /proc/self/uid_map's text.
bool uid_map_is_initial(const std::string& uid_map);
bool running_in_user_namespace();
// --rootless true, or auto (the default) when ocelot runs without root or in a user namespace
// (runc's rule): either way it cannot make cgroups or map ids it does not own.
Result<bool> rootless_mode(const Globals& g);

// What a rootless create does about the container's cgroup.
struct RootlessCgroupPlan {
  bool own_cgroup = true;  // create and use the planned cgroup (delegated to the caller)
  std::string warning;     // said when there is none
};
// Pure. not_writable: the first planned cgroup directory whose nearest existing ancestor the
// caller cannot write ("" when all are writable). A config that asks for limits without a
// writable cgroup is an error, as with runc; one that asks for none gets a warning.
Result<RootlessCgroupPlan> plan_rootless_cgroups(const std::string& id, const spec::Linux& l,
                                                 const std::string& not_writable);
// The first of p's directories the caller could not create ("" if none): W_OK on the nearest
// existing ancestor of each.
std::string first_unwritable_cgroup(const cgroups::Paths& p);

}  // namespace ocelot::runtime
