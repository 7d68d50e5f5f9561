#include "runtime/lsm.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/fs.h"
#include "namespaces/procfs.h"

namespace ocelot::runtime {

bool apparmor_enabled() {
  auto t = fs::read_file("/sys/module/apparmor/parameters/enabled");
  return t && !t->empty() && (*t)[0] == 'Y';
}

bool selinux_enabled() { return fs::exists("/sys/fs/selinux/enforce"); }

bool apparmor_profile_listed(std::string_view profiles, std::string_view profile) {
  while (!profiles.empty()) {
    size_t nl = profiles.find('\n');
    std::string_view line = profiles.substr(0, nl);
    profiles = nl == std::string_view::npos ? std::string_view{} : profiles.substr(nl + 1);
    // The mode is the last " (...)"; a profile name may itself hold spaces.
    size_t mode = line.rfind(" (");
    if (mode != std::string_view::npos && line.substr(0, mode) == profile) return true;
  }
  return false;
}

Status check_apparmor_profile_loaded(const std::string& profile) {
  if (profile == "unconfined" || profile.find_first_of(":/&") != std::string::npos) return ok();
  auto listed = fs::read_file("/sys/kernel/security/apparmor/profiles");
  if (!listed) return ok();
  if (apparmor_profile_listed(*listed, profile)) return ok();
  return Error::sys(ENOENT, "apparmor profile " + quote(profile) + " is not loaded (apparmor_parser -r loads it)");
}

std::string apparmor_exec_request(const std::string& profile) { return "exec " + profile; }

Result<LsmAttrFds> open_lsm_attrs_in_child(bool apparmor, bool selinux) {
  LsmAttrFds out;
  if (!apparmor && !selinux) return out;
  ns::Procfs proc = OCL_TRY(ns::Procfs::open_private());
  if (apparmor) {
    // Newer kernels have a per-LSM attr directory; older ones only the shared file.
    auto fd = proc.open("self/attr/apparmor/exec", O_WRONLY);
    if (!fd && fd.error().code == ENOENT) fd = proc.open("self/attr/exec", O_WRONLY);
    if (!fd) return std::move(fd).error().wrap("set apparmor profile");
    out.apparmor = std::move(*fd);
  }
  if (selinux) {
    auto fd = proc.open("self/attr/exec", O_WRONLY);
    if (!fd) return std::move(fd).error().wrap("set selinux label");
    out.selinux = std::move(*fd);
  }
  return out;
}

Result<UniqueFd> open_attr_dir_in_child() {
  ns::Procfs proc = OCL_TRY(ns::Procfs::open_private());
  auto fd = proc.open("self/attr", O_PATH | O_DIRECTORY);
  if (!fd) return std::move(fd).error().wrap("open the LSM label directory");
  return fd;
}

static Status write_label(int fd, const std::string& text, const std::string& what) {
  ssize_t n;
  do n = ::write(fd, text.data(), text.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) return Error::last(what);
  return ok();
}

Status set_exec_lsm_in_child(const std::string& apparmor_profile, const std::string& selinux_label) {
  bool aa = !apparmor_profile.empty() && apparmor_enabled();
  bool se = !selinux_label.empty() && selinux_enabled();
  LsmAttrFds fds = OCL_TRY(open_lsm_attrs_in_child(aa, se));
  if (aa)
    OCL_CHECK(write_label(fds.apparmor.get(), apparmor_exec_request(apparmor_profile),
                          "set apparmor profile " + quote(apparmor_profile)));
  if (se) OCL_CHECK(write_label(fds.selinux.get(), selinux_label, "set selinux label " + quote(selinux_label)));
  return ok();
}

}  // namespace ocelot::runtime
