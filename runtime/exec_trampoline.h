// The final execve of the container init and of exec'd processes goes through a sealed memfd
// holding a tiny static program (runtime/trampoline/trampoline.c), so that at the moment the
// workload (or its #! interpreter) is looked up, /proc/self/exe is that memfd and never the host's
// ocelot binary (CVE-2019-5736). Cheaper than runc's re-exec from a memfd copy of itself: the copy
// is a few hundred bytes, made once by the parent before clone().
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::runtime {

// In the parent: memfd_create + write + seal against writes, shrinking, growing and re-sealing.
Result<UniqueFd> make_exec_trampoline();
// In the child: execveat(trampoline, [exe, argv...]); falls back to a plain execve when the memfd
// cannot be executed (a seccomp profile denying execveat, vm.memfd_noexec). Returns only on error.
void exec_via_trampoline(int trampoline_fd, const std::string& exe, const std::vector<std::string>& argv,
                         const std::vector<std::string>& env) noexcept;

}  // namespace ocelot::runtime
