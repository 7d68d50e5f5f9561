// The systemd driver's plan, as plain data (unit-tested): which transient unit holds a container,
// in which slice, and which of linux.resources become unit properties, with their D-Bus types,
// as runc's and crun's systemd drivers map them. What systemd has no property for stays with the
// cgroupfs files of the unit's cgroup (written by the driver after systemd made it).
//
// Facts this relies on (systemd.resource-control(5), org.freedesktop.systemd1(5)): a scope unit
// is made with StartTransientUnit and the PIDs it starts with; Delegate=yes hands the cgroup's
// subtree and its files to the process that made it; a slice named in Slice= that does not exist
// is made on the fly, with its parents ("a-b.slice" lives in "a.slice"); properties are changed
// later with SetUnitProperties(runtime=true).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "cgroups/layout.h"
#include "spec/config.h"

namespace ocelot::cgroups {

struct UnitName {
  std::string slice;  // "system.slice", "-.slice" for the root
  std::string unit;   // "ocelot-ID.scope" (or a slice, when the path names one)
};

// linux.cgroupsPath under the systemd driver: "slice:prefix:name" (empty: "system.slice:ocelot:ID",
// as runc defaults to its own prefix). Anything else is runc's error.
Result<UnitName> systemd_unit_name(const std::string& cgroups_path, const std::string& id);
// The cgroupsPath form that names the unit (for the cgroupfs paths of every hierarchy).
std::string systemd_cgroups_path(const UnitName& u);

// One unit property: its name, its D-Bus type signature and its value as text for the helper
// (t: a number or "infinity"; b: true|false; s: text; au: n,n,...; ay: a hex byte string;
// a(ss): "path perms;path perms"; a(st): "path n;path n").
struct UnitProperty {
  std::string name, signature, value;
};

struct SystemdPlan {
  std::vector<UnitProperty> properties;  // what systemd keeps for the unit
  spec::Resources rest;                  // what systemd has no property for (the driver writes every
                                         // limit to the unit's cgroupfs files anyway, as runc does)
};

// v2 is the layout systemd drives on the hosts this is for (pure v2, or hybrid with systemd's own
// hierarchy): the v2 property names. On a v1 host, the v1 ones (MemoryLimit, CPUShares,
// BlockIOWeight), where systemd still has them.
Result<SystemdPlan> plan_systemd(const spec::Resources& r, Mode host);
// The properties a new scope starts with: who it is, where, delegated, accounted, its first pid.
std::vector<UnitProperty> scope_properties(const UnitName& u, const std::string& description, pid_t pid);

// cpuset text ("0-3,7") -> the byte mask systemd's AllowedCPUs takes, as hex ("8f"); errors name
// the field.
Result<std::string> cpuset_mask_hex(const std::string& list, const std::string& field);

}  // namespace ocelot::cgroups
