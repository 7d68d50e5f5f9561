// OCI hooks (config.md "POSIX-platform Hooks"): each is executed with its args and env, the
// container state JSON on stdin, and an optional timeout in seconds. A failure names the hook kind,
// index and path, with the first line the hook printed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::runtime {

// Host hooks are tracked while they run, so that a create killed meanwhile leaves a record of
// what to stop: started(pid) right after fork, ended(pid) once reaped. Each hook runs in its own
// process group (delete --force kills the group) and dies with its parent (PR_SET_PDEATHSIG).
struct HookTracker {
  std::function<void(pid_t)> started;
  std::function<void(pid_t)> ended;
};

Status run_hook(const spec::Hook& h, const std::string& state_json, const std::string& kind, size_t index,
                const HookTracker* tracker = nullptr);
Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& state_json, const std::string& kind,
                 const HookTracker* tracker = nullptr);

}  // namespace ocelot::runtime
