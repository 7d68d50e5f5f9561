// Starting a VM-isolated container: the VMM (QEMU) in the container's host cgroup, booted with the
// guest image, told the guest plan, until the agent reports the container created. Also the state
// record such a container keeps (runtime/state_store.h; isolation "vm", the VMM as its pid).
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "base/unique_fd.h"
#include "runtime/options.h"

namespace ocelot::vm {

struct Booted {
  pid_t vmm = 0;
  UniqueFd ctl;         // the control port, connected
  UniqueFd tty_master;  // process.terminal under `run` without --console-socket: we proxy it
};

// foreground: the VMM dies with us (`run`); otherwise it outlives us (`create`).
// start_follows (`run`): "start" is sent right behind the plan, so the agent starts the container
// as soon as it is created, without a round trip; the caller then reads "started".
Result<Booted> boot_vm(const runtime::Globals& g, const runtime::CreateOptions& o, bool foreground,
                       bool start_follows = false);

}  // namespace ocelot::vm
