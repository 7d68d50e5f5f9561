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
