// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a transient scope unit
// that systemd makes through its D-Bus API, as runc, crun and youki do.
#pragma once

#include <memory>

#include "base/error.h"
#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "cgroups/paths.h"

namespace ocelot::cgroups {

Result<std::unique_ptr<Manager>> make_systemd_manager(const Layout& layout, const Paths& paths);

}  // namespace ocelot::cgroups
