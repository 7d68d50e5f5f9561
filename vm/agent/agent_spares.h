// What a VM template's agent (the guest's PID 1) prepares before the guest is saved, so that every
// guest restored from the template finds it done. Under TCG the guest kernel's work is slow the
// first time each code path runs in a VMM process (QEMU translates it), and a restored guest is a
// new process every time: work moved into the template is work no container start pays again.
// Measured per restored guest (bench/vm.sh, docs/performance.md): a new network namespace, the
// cgroup v2 controllers' first enabling, and the kernel's verifier and JIT for the device program
// cost about 100 ms together under TCG.
//
// Each spare is optional: if one cannot be made the guest simply does that work itself later.
#pragma once

#include <string>

#include "base/error.h"

namespace ocelot::vm {

// Where the spare network namespace is pinned (a bind mount of its nsfs file).
inline constexpr const char* kSpareNetns = "/run/ocelot-agent/spare-net";

// A cgroup (under the guest's cgroup2 root) that holds the preloaded device program and never a
// process: see prepare_spares_in_guest.
inline constexpr const char* kDeviceHookCgroup = "/ocelot-agent-device-hook";

struct AgentSpares {
  bool netns = false;  // kSpareNetns holds an unused network namespace
  std::string notes;   // what could not be prepared (for the agent's trace)
};

// In the guest's PID 1, at the template's build, before it says "waiting":
//  - an unused network namespace, pinned at kSpareNetns (join_spare_netns hands it to the config);
//  - every cgroup v2 controller enabled at the root and in the parents ocelot and the usual
//    callers put containers under ("/ocelot", "/docker", "/machine.slice", "/system.slice"),
//    as the runtime would enable them on its way to the container's cgroup;
//  - the device program for a config's default device rules (deny all, then ocelot's default
//    devices) loaded, kept by cgroups::preload_device_filter, and attached to kDeviceHookCgroup
//    (the first attach in a kernel switches its device hook on);
//  - the kernel's switch to its final clocksource: under TCG the TSC's refined calibration runs a
//    second after the TSC's registration, which is after the agent starts; a template saved before
//    it made every restored guest calibrate and switch clocksource (about 15 ms) on its way.
AgentSpares prepare_spares_in_guest();

// A new network namespace with `lo` up, pinned at kSpareNetns (the agent stays in its own).
Status pin_spare_netns();

}  // namespace ocelot::vm
