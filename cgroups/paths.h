// Where a container's cgroup lives in each hierarchy: linux.cgroupsPath resolved against the
// host's layout (absent -> /ocelot/<id>; absolute; relative -> under the caller's own cgroup, as
// runc; "slice:prefix:name" -> the systemd unit's cgroupfs path). Pure: unit-tested with sample
// layouts. A path that lands on a hierarchy's root is refused: every host process lives there.
#pragma once

#include <map>
#include <string>

#include "base/error.h"
#include "cgroups/layout.h"

namespace ocelot::cgroups {

// Absolute directories of one cgroup: per v1 controller, and the cgroup2 one.
struct Paths {
  std::map<std::string, std::string> v1;
  std::string v2;
};

// own: parse_proc_cgroup() of the caller. Warnings (a systemd path mapped to cgroupfs) go to
// log::warn.
// systemd_driver: a "slice:prefix:name" path is the unit systemd makes (no warning).
Result<Paths> resolve_paths(const Layout& l, const std::string& cgroups_path, const std::string& id,
                            const std::map<std::string, std::string>& own, bool systemd_driver = false);
// The cgroup the caller itself is in, in every hierarchy: where a container without a cgroup of
// its own (rootless on a host without delegation) stays, and what its /sys/fs/cgroup shows.
Paths own_paths(const Layout& l, const std::map<std::string, std::string>& own);
// "machine.slice:libpod:abc" -> "/machine.slice/libpod-abc.scope"; "a-b.slice" nests as a.slice/a-b.slice.
Result<std::string> systemd_to_cgroupfs(const std::string& path);

}  // namespace ocelot::cgroups
