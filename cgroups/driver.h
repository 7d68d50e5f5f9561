// The cgroup driver: who makes a container's cgroup. `cgroupfs` (the default): ocelot makes the
// directories itself. `systemd` (--systemd-cgroup): systemd makes a transient scope unit holding
// the container, and ocelot asks it for changes over D-Bus (cgroups/systemd.h). Either works over
// any host layout (v1, v2, hybrid: cgroups/layout.h). The driver is chosen once, by create, and
// recorded in the container's state, so that every later command drives the same one (youki's
// `use_systemd`, crun's manager kind).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "cgroups/paths.h"

namespace ocelot::cgroups {

enum class Driver { cgroupfs, systemd };

const char* driver_name(Driver d);
std::optional<Driver> parse_driver(std::string_view name);

struct DriverOptions {
  std::string systemd_helper;  // the ocelot-systemd program (cgroups/systemd_helper.cc)
  std::string description;     // the unit's Description=
};

// The one factory of managers: every command gets its container's manager here.
Result<std::unique_ptr<Manager>> make_manager(Driver d, const Layout& layout, const Paths& paths,
                                              const DriverOptions& o = {});

}  // namespace ocelot::cgroups
