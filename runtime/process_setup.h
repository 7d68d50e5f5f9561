// Turning the runtime's process into the workload: rlimits, scheduler, I/O priority, personality,
// cwd, user and groups, the five capability sets, no_new_privs, umask, and the executable lookup.
// Shared by the container init and `exec`; every function runs in the child after clone() and
// returns an Error naming the step.
#pragma once

#include <cstdint>
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
// The container init's cwd is made when missing (runc: after pivot_root, as root, mode 0755),
// before the root is made read-only; exec's is not.
Status make_cwd_in_child(const std::string& cwd);

// HOME for a process that was given none (runc's setupUser): the home directory /etc/passwd in
// the container gives uid, else "/". passwd_text: the file's content ("" when there is none).
std::string home_for(uid_t uid, const std::string& passwd_text);
// env with HOME added from the container's /etc/passwd when it has none (after pivot_root).
std::vector<std::string> with_home_in_child(std::vector<std::string> env, uid_t uid);
// A small regular file of the container (after pivot_root): never a fifo, device or endless
// file the image put there. "" when it is missing or not a regular file.
std::string read_container_file_in_child(const char* path, size_t limit);

// The process's stdin, stdout and stderr handed to its user (runc's fixStdioPermissions): a pipe
// or terminal the caller passed belongs to root, and a non-root workload could not reopen
// /dev/stdout. The uid only, as runc; the null device and regular files are left alone (ocelot
// never changes the owner of a host file), and so is anything this user namespace cannot chown.
void hand_stdio_to_user_in_child(uid_t uid);
// stdin, stdout or stderr that is the host's null device (`ocelot run -d </dev/null`) reopened
// from the container's own /dev/null (runc's reOpenDevNull), after pivot_root: an fd on a mount
// outside the container's mount namespace cannot be checkpointed (CRIU: "Can't lookup mount").
// Left alone when the container has no /dev/null that is the null device.
void reopen_dev_null_stdio_in_child();
// The five capability sets of a process as bit masks (bit N = capability N). A process without a
// capabilities object gets none (runc), and the bounding set is always exactly what is listed.
struct CapSets {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};
CapSets cap_sets(const spec::Process& p);
inline uint64_t cap_bit(int cap) { return uint64_t{1} << cap; }

// Loading a seccomp filter without no_new_privs needs CAP_SYS_ADMIN at the moment of loading,
// which the init stub does right before the workload's execve. The capabilities the stub must hold
// for that beyond what the process keeps anyway (after an execve as uid 0: bounding | inheritable;
// as any other uid: ambient), plus CAP_SETPCAP to drop CAP_SYS_ADMIN from the bounding set
// afterwards. 0 when nothing extra is needed.
uint64_t seccomp_temp_caps(const spec::Process& p, const CapSets& c);

// Bounding set, then groups and ids, then effective/permitted/inheritable, then ambient; `temp`
// is kept on top of the final sets (see seccomp_temp_caps). setgroups_allowed is false in a user
// namespace whose setgroups file says "deny".
Status switch_user_and_caps_in_child(const spec::Process& p, const CapSets& c, uint64_t temp, bool setgroups_allowed);
Status set_no_new_privs_in_child();

}  // namespace ocelot::runtime
