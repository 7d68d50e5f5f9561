// The process `exec` starts in a running container, after clone(): it joins the container's
// namespaces (user first), sets itself up as the process spec says, and execs. Its parent is
// runtime/exec.cc; success is the sync socket's end-of-stream at execve (close-on-exec), failure
// an {errno, message} on it. The filter is loaded as late as it can be: right before execve with
// no_new_privs, else right before the capabilities are dropped (only those few syscalls, then
// execve, run under it).
#pragma once

#include <utility>
#include <vector>

#include "runtime/seccomp.h"
#include "spec/config.h"

namespace ocelot::runtime {

struct ExecChildArgs {
  const spec::Process* process = nullptr;
  int sync_fd = -1, parent_sync_fd = -1, console_fd = -1;
  std::vector<std::pair<int, int>> joins;  // (CLONE_NEW*, fd), in join order
  const SeccompFilter* seccomp = nullptr;
  int pass_fds = 0;
  int root_fd = -1;  // the init's root, for a container without a mount namespace (chroot'ed)
  bool setgroups_allowed = true;
  bool apparmor = false, selinux = false;
};

[[noreturn]] void exec_child_main(const ExecChildArgs& a) noexcept;

}  // namespace ocelot::runtime
