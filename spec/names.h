// Name tables shared by validation, the CLI and the runtime: capabilities, rlimits, signals,
// namespace types. Pure lookups with no kernel calls.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace ocelot::spec {

// "CAP_SYS_ADMIN" -> 21. Unknown names yield nullopt.
std::optional<int> capability_number(std::string_view name);
const std::vector<std::string>& all_capability_names();
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimit_number(std::string_view name);
// "9", "KILL", "SIGKILL", "kill", "SIGRTMIN+3" -> number; anything else: `unknown signal "X"`.
Result<int> parse_signal(std::string_view text);
std::string signal_name(int sig);  // 15 -> "SIGTERM"
// "pid" -> CLONE_NEWPID ... ; nullopt for unknown types.
std::optional<int> namespace_flag(std::string_view type);
// "pid" -> "pid", "network" -> "net": the name under /proc/PID/ns.
std::string namespace_proc_name(std::string_view type);
const std::vector<std::string>& all_namespace_types();

}  // namespace ocelot::spec
