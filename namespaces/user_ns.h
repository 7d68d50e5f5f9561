// User namespace id maps: the text the kernel reads from /proc/PID/uid_map and gid_map, and
// writing them for a child from the parent (the child cannot map itself beyond its own id).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::ns {

// "0 1000 1\n" lines for /proc/PID/uid_map.
std::string id_map_text(const std::vector<spec::IdMapping>& maps);
// Parent side, before the child goes on: uid_map, then setgroups "deny" where the kernel needs it
// (an unprivileged writer), then gid_map.
Status write_id_maps_in_parent(pid_t pid, const spec::Linux& l);

}  // namespace ocelot::ns
