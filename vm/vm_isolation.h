// VM isolation: the same bundle and the same CLI, but the container runs inside a small QEMU
// guest whose PID 1 is ocelot-agent (vm/agent_main.cc), which sets the container up with ocelot's
// own runtime code: a container inside a VM. state.pid is the VMM, which runs in the container's
// cgroup on the host (so pause, ps, stats and delete act on the whole VM); start, kill, kill
// --all, update and exec are relayed to the agent, which applies them to the guest's container.
#pragma once

#include <memory>

#include "runtime/isolation.h"

namespace ocelot::vm {

inline constexpr const char* kIsolationAnnotation = "org.ocelot.isolation";

std::unique_ptr<runtime::Isolation> make_vm_isolation(const runtime::Globals& g);

}  // namespace ocelot::vm
