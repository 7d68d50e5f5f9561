// The runtime's own handle on procfs, for every write into /proc it makes on the container's
// behalf (sysctls, LSM labels) and every /proc read that decides something. The container's
// "/proc" is a path the image and the config's mounts can redirect (a symlinked /proc, a volume
// mounted over /proc/sys/net whose files are symlinks to host-wide sysctls: the CVE-2019-16884
// and CVE-2025-52881 classes), so nothing is opened through it by path:
//   - the handle is a private procfs instance (fsopen("proc") + fsmount: a mount no one else can
//     reach, with nothing mounted inside it), or, where the kernel refuses that, the container's
//     /proc verified to be the root of a procfs mount;
//   - every file under it is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//     RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): no symlink is followed and no mount is crossed.
// Runs in the container init or the exec'd process, in the container's namespaces.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::ns {

class Procfs {
 public:
  // A private procfs instance of the caller's pid namespace; else "/proc", verified.
  static Result<Procfs> open_private();
  // "/proc" only, verified: the root of a procfs mount, reached without a symlink.
  static Result<Procfs> open_mounted(const std::string& path = "/proc");

  // rel: a path under the procfs root ("sys/net/ipv4/ip_forward"); a leading "self/" names the
  // calling process. ELOOP and EXDEV come back as a refusal that says what redirected the path.
  Result<UniqueFd> open(std::string_view rel, int flags) const;
  Status write(std::string_view rel, std::string_view data) const;
  Result<std::string> read(std::string_view rel) const;
  bool is_private() const { return private_; }

 private:
  UniqueFd root_;
  bool private_ = false;
};

// Is fd the root directory of a procfs mount?
bool is_procfs_root(int fd);

}  // namespace ocelot::ns
