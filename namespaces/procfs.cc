#include "namespaces/procfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ocelot::ns {

namespace {

constexpr unsigned long kProcRootIno = 1;  // PROC_ROOT_INO (fs/proc/internal.h)

std::string shown(std::string_view rel) { return "\"/proc/" + std::string(rel) + "\""; }

// A fresh procfs, mounted nowhere: only this process holds it.
Result<UniqueFd> private_instance() {
  UniqueFd fsfd(static_cast<int>(::syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC)));
  if (!fsfd.valid()) return Error::last("fsopen proc");
  if (::syscall(SYS_fsconfig, fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return Error::last("create a procfs instance");
  UniqueFd mnt(static_cast<int>(
      ::syscall(SYS_fsmount, fsfd.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)));
  if (!mnt.valid()) return Error::last("fsmount proc");
  return mnt;
}

}  // namespace

bool is_procfs_root(int fd) {
  struct statfs sfs;
  struct stat st;
  return ::fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC && ::fstat(fd, &st) == 0 &&
         st.st_ino == kProcRootIno && S_ISDIR(st.st_mode);
}

Result<Procfs> Procfs::open_private() {
  auto mnt = private_instance();
  if (mnt && is_procfs_root(mnt->get())) {
    Procfs p;
    p.root_ = std::move(*mnt);
    p.private_ = true;
    return p;
  }
  // EPERM in a user namespace whose /proc is already partly masked, ENOSYS before Linux 5.2.
  return open_mounted();
}

Result<Procfs> Procfs::open_mounted(const std::string& path) {
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how)));
  if (!fd.valid()) {
    if (errno == ELOOP) return Error::sys(ELOOP, "open " + quote(path) + ": it is a symlink, not procfs");
    return Error::last("open " + quote(path));
  }
  if (!is_procfs_root(fd.get())) return Error::make(quote(path) + " is not the root of a procfs mount");
  Procfs p;
  p.root_ = std::move(fd);
  return p;
}

Result<UniqueFd> Procfs::open(std::string_view rel, int flags) const {
  std::string r(rel);
  if (r.rfind("self/", 0) == 0) r = std::to_string(::getpid()) + r.substr(4);
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_.get(), r.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EAGAIN || errno == EINTR) continue;
    if (errno == ELOOP) return Error::sys(ELOOP, "open " + shown(rel) + ": a symlink on the way, refused");
    if (errno == EXDEV) return Error::sys(EXDEV, "open " + shown(rel) + ": a mount covers part of the way, refused");
    return Error::last("open " + shown(rel));
  }
}

Status Procfs::write(std::string_view rel, std::string_view data) const {
  UniqueFd fd = OCL_TRY(open(rel, O_WRONLY));
  ssize_t n;
  do n = ::write(fd.get(), data.data(), data.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) return Error::last("write " + shown(rel));
  if (static_cast<size_t>(n) != data.size()) return Error::sys(EIO, "write " + shown(rel) + ": short write");
  return ok();
}

Result<std::string> Procfs::read(std::string_view rel) const {
  UniqueFd fd = OCL_TRY(open(rel, O_RDONLY));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::last("read " + shown(rel));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace ocelot::ns
