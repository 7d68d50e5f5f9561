#include "namespaces/mount_fd.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/unique_fd.h"

namespace ocelot::ns {

Status bind_fd_onto(int src_fd, int target_fd, const std::string& what) {
  UniqueFd tree(
      static_cast<int>(::syscall(SYS_open_tree, src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
  if (tree.valid()) {
    if (::syscall(SYS_move_mount, tree.get(), "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) !=
        0)
      return Error::last(what);
    return ok();
  }
  if (errno != ENOSYS) return Error::last(what);
  std::string src = "/proc/self/fd/" + std::to_string(src_fd);
  std::string dst = "/proc/self/fd/" + std::to_string(target_fd);
  if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) return Error::last(what);
  return ok();
}

Status mount_empty_tmpfs_onto(int target_fd, const std::string& what) {
  UniqueFd fsfd(static_cast<int>(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC)));
  if (fsfd.valid()) {
    if (::syscall(SYS_fsconfig, fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return Error::last(what);
    UniqueFd mnt(static_cast<int>(::syscall(SYS_fsmount, fsfd.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)));
    if (!mnt.valid()) return Error::last(what);
    if (::syscall(SYS_move_mount, mnt.get(), "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
      return Error::last(what);
    return ok();
  }
  if (errno != ENOSYS) return Error::last(what);
  std::string dst = "/proc/self/fd/" + std::to_string(target_fd);
  if (::mount("tmpfs", dst.c_str(), "tmpfs", MS_RDONLY, nullptr) != 0) return Error::last(what);
  return ok();
}

}  // namespace ocelot::ns
