// Checks of the runtime-spec's MUSTs that need no kernel: absolute paths, known names, unique
// namespace types, consistent user-namespace mappings. Each failure is one message naming the
// JSON path, e.g. `process.cwd: must be an absolute path, got "tmp"`.
#pragma once

#include <string>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::spec {

Status validate(const Config& c);
Status validate_process(const Process& p, const std::string& path);
Status validate_seccomp(const Seccomp& s, const std::string& path);
// The namespace a sysctl belongs to ("ipc", "network", "uts"), "" when it is host-wide (and so
// must not be set), or an error for a malformed name.
Result<std::string> sysctl_namespace(const std::string& key);
// "/proc/sys/net/ipv4/ip_forward" for "net.ipv4.ip_forward" (or "net/ipv4/ip_forward").
std::string sysctl_proc_path(const std::string& key);

}  // namespace ocelot::spec
