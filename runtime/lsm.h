// AppArmor profiles and SELinux labels. Applied when the LSM is enabled; when it is not, the
// fields are ignored, as runc does (go-selinux and apparmor no-op on hosts without them).
#pragma once

#include <string>

#include "base/error.h"

namespace ocelot::runtime {

bool apparmor_enabled();
bool selinux_enabled();
// In the child, right before execve: the label the workload gets at exec.
Status set_exec_lsm_in_child(const std::string& apparmor_profile, const std::string& selinux_label);

}  // namespace ocelot::runtime
