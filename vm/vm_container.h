// VM-isolated containers: the same bundle and the same CLI, but the container runs inside a small
// QEMU guest whose PID 1 is ocelot-agent (vm/agent_main.cc), which sets the container up with
// ocelot's own runtime code: a container inside a VM. state.pid is the VMM process, which runs in
// the container's cgroup on the host (so memory, cpu, pause, ps and delete act on the VM).
// create boots the guest and prepares the container; start releases it; run waits for its exit
// code; kill is relayed to the guest; state, list, delete, pause and resume are the common ones.
#pragma once

#include <string>

#include "base/error.h"
#include "runtime/container.h"

namespace ocelot::vm {

inline constexpr const char* kIsolationAnnotation = "org.ocelot.isolation";

struct VmOptions {
  std::string kernel;  // --vm-kernel: a kernel image or a directory like the cache's; "" = the cache's
};

Status vm_create(const runtime::Globals& g, const runtime::CreateOptions& o, const VmOptions& vo);
Status vm_start(const runtime::Globals& g, const std::string& id);
Result<int> vm_run(const runtime::Globals& g, const runtime::CreateOptions& o, const VmOptions& vo, bool detach, bool keep);
// Runs the process in the guest's container; its stdout/stderr and exit code come back here.
Result<int> vm_exec(const runtime::Globals& g, const runtime::ExecOptions& o);
Status vm_kill(const runtime::Globals& g, const std::string& id, int sig);
// The bundle asks for VM isolation through its annotation.
bool bundle_wants_vm(const std::string& bundle);
bool is_vm_container(const runtime::Globals& g, const std::string& id);

}  // namespace ocelot::vm
