// AppArmor profiles and SELinux labels. Applied when the LSM is enabled; when it is not, the
// fields are ignored, as runc does (go-selinux and apparmor no-op on hosts without them).
// The label files (/proc/self/attr/...) are opened through the runtime's own procfs handle
// (namespaces/procfs.h), never through the container's /proc by path: a label written into a file
// the image chose would leave the workload unconfined (CVE-2019-16884).
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::runtime {

bool apparmor_enabled();
bool selinux_enabled();

// The open label files of the calling process, for a later write (the init stub's, after start).
struct LsmAttrFds {
  UniqueFd apparmor, selinux;
};
Result<LsmAttrFds> open_lsm_attrs_in_child(bool apparmor, bool selinux);
// What to write: "exec PROFILE" for AppArmor, the label for SELinux.
std::string apparmor_exec_request(const std::string& profile);
// In the child, right before execve: the label the workload gets at exec.
Status set_exec_lsm_in_child(const std::string& apparmor_profile, const std::string& selinux_label);

}  // namespace ocelot::runtime
