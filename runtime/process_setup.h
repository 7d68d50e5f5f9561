// Turning the runtime's process into the workload: rlimits, scheduler, I/O priority, personality,
// cwd, user and groups, the five capability sets, no_new_privs, umask, and the executable lookup.
// Shared by the container init and `exec`; every function runs in the child after clone() and
// returns an Error naming the step.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::runtime {

// PATH lookup of args[0] in the container (after pivot_root), as execvp would do it. Errors read
// as runc's: `exec: "foo": executable file not found in $PATH`.
Result<std::string> find_executable_in_child(const std::string& arg0, const std::vector<std::string>& env);
Status apply_rlimits_in_child(const std::vector<spec::Rlimit>& rlimits);
Status apply_sched_in_child(const spec::Process& p);
Status apply_personality_in_child(const spec::Personality& p);
// cwd must exist and resolve inside the container (CVE-2024-21626: no leaked host directory).
Status enter_cwd_in_child(const std::string& cwd);
// Bounding set, then user and groups, then effective/permitted/inheritable/ambient.
// setgroups_allowed is false in a user namespace whose setgroups file says "deny".
Status switch_user_and_caps_in_child(const spec::Process& p, bool setgroups_allowed);
Status set_no_new_privs_in_child();

}  // namespace ocelot::runtime
