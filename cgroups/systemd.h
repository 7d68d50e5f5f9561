// The systemd cgroup driver (--systemd-cgroup), as runc's, crun's and youki's: the container's
// cgroup is a transient scope unit that systemd makes through its D-Bus API (StartTransientUnit
// with Delegate=yes and the container's first process), its limits are unit properties where
// systemd has them (cgroups/systemd_plan.h) and cgroupfs files in the unit's cgroup for the rest;
// `update` goes through SetUnitProperties, and delete stops the unit. The D-Bus calls are made
// by the ocelot-systemd helper (cgroups/systemd_helper.cc, linked with libsystemd); everything
// else (freeze, pids, stats, files systemd has no property for) is the cgroupfs manager's, on the
// unit's cgroup. Without systemd running, making one is runc's error.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "cgroups/paths.h"

namespace ocelot::cgroups {

// paths: the unit's cgroup in every hierarchy (resolve_paths of its slice:prefix:name form);
// helper: the ocelot-systemd program.
Result<std::unique_ptr<Manager>> make_systemd_manager(const Layout& layout, const Paths& paths,
                                                      const std::string& helper, const std::string& description);
// Is systemd this host's init (sd_booted: /run/systemd/system exists)?
bool systemd_running();

}  // namespace ocelot::cgroups
