// OCI hooks (config.md "POSIX-platform Hooks"): each is executed with its args and env, the
// container state JSON on stdin, and an optional timeout in seconds. A failure names the hook kind,
// index and path, with the first line the hook printed.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::runtime {

Status run_hook(const spec::Hook& h, const std::string& state_json, const std::string& kind, size_t index);
Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& state_json, const std::string& kind);

}  // namespace ocelot::runtime
