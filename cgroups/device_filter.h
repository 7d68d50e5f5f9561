// The cgroup v2 device controller: on cgroup2 there are no devices.allow/deny files; a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup decides each access
// (mknod, read, write of a block or char device). linux.resources.devices (then the default
// devices, then the linux.devices nodes) compile into that program.
//
// Semantics, the same as ocelot's cgroup v1 path and the kernel's v1 device cgroup:
//   - rules are read in order and the LAST rule that matches an access decides;
//   - an allow rule matches when it covers every requested access bit (the v1 "exception" rule),
//     a deny rule when it covers any of them;
//   - no matching rule: denied.
// The compiler is pure (unit-tested with interpret_device_filter(), which runs the produced
// program); attach/replace/detach talk to the kernel (bpf(2)), checked in the VM tests (the guest
// is a pure cgroup v2 system).
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::cgroups {

std::vector<struct bpf_insn> compile_device_filter(const std::vector<spec::DeviceCgroup>& rules);

// Runs a program produced by compile_device_filter() for one access: type 'c' or 'b', access
// letters from "rwm". Returns 1 (allow) or 0 (deny); -1 for an instruction it does not know.
int interpret_device_filter(const std::vector<struct bpf_insn>& prog, char type, uint32_t major, uint32_t minor,
                            const std::string& access);

// The rules ocelot enforces: config rules, then the default devices, then extra_allowed.
std::vector<spec::DeviceCgroup> effective_device_rules(const std::vector<spec::DeviceCgroup>& rules,
                                                       const std::vector<spec::DeviceCgroup>& extra_allowed);

// Compiles, loads and attaches the program to the cgroup (BPF_F_ALLOW_MULTI), then detaches the
// programs ocelot attached before (so `update` replaces, never stacks).
Status attach_device_filter(const std::string& cgroup_dir, const std::vector<spec::DeviceCgroup>& rules,
                            const std::vector<spec::DeviceCgroup>& extra_allowed);
// Loads the program for these rules now and keeps it (one per process): attach_device_filter
// then attaches it instead of loading the same instructions again. A VM template's agent does this
// for ocelot's default rules before the guest is saved, since loading means the kernel's verifier
// and JIT, and under TCG that first run of their code costs tens of milliseconds per guest.
Status preload_device_filter(const std::vector<spec::DeviceCgroup>& rules,
                             const std::vector<spec::DeviceCgroup>& extra_allowed);
// Detaches every device program attached to the cgroup (before it is removed).
void detach_device_filters(const std::string& cgroup_dir);
// How many device programs are attached to the cgroup now (for tests and `features`).
Result<int> count_device_filters(const std::string& cgroup_dir);

}  // namespace ocelot::cgroups
