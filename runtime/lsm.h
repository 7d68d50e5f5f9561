// AppArmor profiles and SELinux labels. Applied when the LSM is enabled; when it is not, the
// fields are ignored, as runc does (go-selinux and apparmor no-op on hosts without them).
// The label files (/proc/self/attr/...) are opened through the runtime's own procfs handle
// (namespaces/procfs.h), never through the container's /proc by path: a label written into a file
// the image chose would leave the workload unconfined (CVE-2019-16884).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::runtime {

bool apparmor_enabled();
bool selinux_enabled();

// The open label files of the calling process, for a write right away: the kernel lets only the
// credentials that opened a /proc/PID/attr file write it (proc_pid_attr_write: EPERM otherwise),
// so a file opened before a change of user or an execve is useless.
struct LsmAttrFds {
  UniqueFd apparmor, selinux;
};
Result<LsmAttrFds> open_lsm_attrs_in_child(bool apparmor, bool selinux);
// For a later write by the init stub (after its execve and the change of user): a handle on the
// calling process's own attr directory in the runtime's procfs; the stub opens the label files
// beneath it (openat2, no symlinks, no mount crossings) right before it writes them.
Result<UniqueFd> open_attr_dir_in_child();
// Whether profile is among the loaded ones, from /sys/kernel/security/apparmor/profiles' text
// ("NAME (MODE)" lines). Pure.
bool apparmor_profile_listed(std::string_view profiles, std::string_view profile);
// In the runtime, before the init is cloned: a profile the kernel does not have fails create with
// its name (runc fails there too; our stub only writes it after start). "unconfined", stacks and
// namespaced names are left to the kernel, as is a host without securityfs mounted.
Status check_apparmor_profile_loaded(const std::string& profile);
// What to write: "exec PROFILE" for AppArmor, the label for SELinux.
std::string apparmor_exec_request(const std::string& profile);
// In the child, right before execve: the label the workload gets at exec.
Status set_exec_lsm_in_child(const std::string& apparmor_profile, const std::string& selinux_label);

}  // namespace ocelot::runtime
