// No process that a container can see may have the host's ocelot binary as its executable: with
// CAP_SYS_PTRACE, a container process could open /proc/PID/exe and, once ocelot exits, write the
// binary (the CVE-2019-5736 class; docs/security.md). Processes that `exec` clones into a running
// container's pid namespace (and create's init, when it joins an existing pid namespace) are seen
// there from clone() on, so the process that clones them must not be the host binary: it re-runs
// itself from a sealed memfd copy first (about 2 ms here). The copy is not needed when the
// container cannot write the binary anyway: its root is mapped to another owner by a user
// namespace, or the binary lies on a read-only mount.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"

namespace ocelot::runtime {

// main() keeps its argv for a re-exec.
void remember_argv(int argc, char** argv);
// For a process whose binary no container can reach on the host (the VM agent: it lives only
// in the guest's memory): never re-exec.
void assume_protected_exe();
// Is /proc/self/exe already write-proof (a sealed memfd, or on a read-only mount)?
bool running_from_protected_exe();
// Could root of a container whose user namespace maps uid_map_text write our binary? (No user
// namespace: "", which means yes.)
bool container_root_can_write_binary(const std::string& uid_map_text);
// Re-runs this process (same argv, environment and fds) from a sealed memfd copy of its binary.
// Returns only on failure. The original path stays available through self_path().
Status reexec_from_sealed_copy();
// The path ocelot was started from (not the memfd), for finding ocelot-agent beside it.
std::string self_path();

}  // namespace ocelot::runtime
