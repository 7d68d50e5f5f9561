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
// How an id map gets written. root writes any map itself; an unprivileged caller may write only
// a single mapping of its own id (and must deny setgroups first); anything more goes through
// the setuid helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid.
enum class MapWriter { direct, direct_deny_setgroups, helpers };
// Pure: unit-tested.
MapWriter choose_map_writer(uid_t euid, gid_t egid, const spec::Linux& l);
// "PID C H S C H S ...": newuidmap's and newgidmap's arguments.
std::vector<std::string> map_helper_args(pid_t pid, const std::vector<spec::IdMapping>& maps);
// Parent side, before the child goes on.
Status write_id_maps_in_parent(pid_t pid, const spec::Linux& l);

}  // namespace ocelot::ns
