#include "runtime/lsm.h"

#include <unistd.h>

#include "base/fs.h"

namespace ocelot::runtime {

bool apparmor_enabled() {
  auto t = fs::read_file("/sys/module/apparmor/parameters/enabled");
  return t && !t->empty() && (*t)[0] == 'Y';
}

bool selinux_enabled() { return fs::exists("/sys/fs/selinux/enforce"); }

Status set_exec_lsm_in_child(const std::string& apparmor_profile, const std::string& selinux_label) {
  if (!apparmor_profile.empty() && apparmor_enabled()) {
    // Newer kernels have a per-LSM attr directory; older ones only the shared file.
    std::string f =
        fs::exists("/proc/self/attr/apparmor/exec") ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec";
    OCL_CHECK_CTX(fs::write_existing(f, "exec " + apparmor_profile),
                  "set apparmor profile \"" + apparmor_profile + "\"");
  }
  if (!selinux_label.empty() && selinux_enabled())
    OCL_CHECK_CTX(fs::write_existing("/proc/self/attr/exec", selinux_label),
                  "set selinux label \"" + selinux_label + "\"");
  return ok();
}

}  // namespace ocelot::runtime
