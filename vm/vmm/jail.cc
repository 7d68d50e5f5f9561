#include "vm/vmm/jail.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "base/fs.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "namespaces/safe_path.h"

namespace ocelot::vm {

namespace {

std::string parent_of(const std::string& path) {
  auto at = path.find_last_of('/');
  return at == 0 || at == std::string::npos ? "/" : path.substr(0, at);
}

std::string absolute_in(const std::string& path, const std::string& dir) {
  return path.starts_with("/") ? path : dir + "/" + path;
}

}  // namespace

std::vector<int> jail_capabilities(const VmmJail& j) {
  if (!j.share_helper.empty()) return {CAP_SETGID, CAP_SETUID};
  return {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_MKNOD, CAP_SETFCAP};
}

std::vector<int> share_helper_capabilities() {
  return {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,     CAP_FSETID, CAP_SETGID,
          CAP_SETUID, CAP_MKNOD,        CAP_SYS_CHROOT, CAP_SETPCAP};
}

std::string vmm_runas(pid_t pid) {
  std::string id = std::to_string(kVmmIdBase + static_cast<unsigned>(pid));
  return id + ":" + id;
}

VmmJail plan_jail(const VmPlan& p, const std::string& dir) {
  VmmJail j;
  j.root = dir + "/vmm-root";
  // The system: QEMU, its libraries, firmware and modules (merged /usr: /lib, /bin... are links
  // into it, made again in the jail; a host where they are directories gets them bound).
  for (const char* sys : {"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/ld.so.cache"}) j.binds.push_back({sys});
  j.binds.push_back({p.kernel});
  j.binds.push_back({p.initrd});
  // Sockets, the log, a template's ram and state. Not recursive: the jail's own root is beneath.
  j.binds.push_back({dir, true});
  // QEMU opens guest RAM read-write even when it maps it private (copy on write: the template
  // file is never written, tests/integration/test_vm.py checks it).
  if (!p.ram_file.empty()) j.binds.push_back({absolute_in(p.ram_file, dir), true});
  for (const auto& s : p.shares) j.binds.push_back({s.host_path, !s.readonly, true});
  if (!p.console_log.empty()) j.binds.push_back({parent_of(absolute_in(p.console_log, dir)), true});
  j.devices = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"};
  if (p.kvm) j.devices.push_back("/dev/kvm");
  j.pts = !p.tty_path.empty();
  if (unprivileged_vmm(p)) {
    j.share_helper = p.share_helper;
    for (size_t i = 0; i < p.shares.size(); ++i)
      if (helper_serves(p, i)) j.shares.push_back(p.shares[i].host_path);
  }
  return j;
}

namespace {

// Makes path (and its parents) inside the jail's root as a directory, or as an empty file for a
// file's bind. No symlink is followed: the jail's tree is ours, made just now.
// A directory or an empty file at path inside the jail's root, every lookup resolved inside it
// (a link the jail copied from the host, such as /lib -> usr/lib, leads where it leads there).
Status make_mountpoint(const std::string& root, const std::string& path, bool dir) {
  UniqueFd r(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!r.valid()) return Error::last("jail: open its root " + quote(root));
  auto made = dir ? ns::mkdir_all_in_root(r.get(), path) : ns::create_file_in_root(r.get(), path, 0600);
  if (!made) return std::move(made).error().wrap("jail: make " + quote(path));
  return ok();
}

Status bind_into(const std::string& root, const std::string& path, bool writable,
                 bool recursive = false) {  // NOLINT(misc-no-recursion): a link's target, once
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok();  // a system path this host does not have (/lib64)
    return Error::last("jail: " + quote(path));
  }
  std::string target = root + path;
  if (S_ISLNK(st.st_mode)) {  // /lib -> usr/lib: the same link in the jail, and what it leads to
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n < 0) return Error::last("jail: readlink " + quote(path));
    OCL_CHECK(make_mountpoint(root, parent_of(path), true));
    if (::symlink(std::string(buf, static_cast<size_t>(n)).c_str(), target.c_str()) != 0 && errno != EEXIST)
      return Error::last("jail: link " + quote(path));
    char real[PATH_MAX];
    if (!::realpath(path.c_str(), real)) return Error::last("jail: resolve " + quote(path));
    if (std::string(real).starts_with("/usr/")) return ok();  // bound already
    return bind_into(root, real, writable, recursive);
  }
  OCL_CHECK(make_mountpoint(root, path, S_ISDIR(st.st_mode)));
  if (::mount(path.c_str(), target.c_str(), nullptr, MS_BIND | (recursive ? MS_REC : 0), nullptr) != 0)
    return Error::last("jail: bind " + quote(path));
  if (!writable &&
      ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return Error::last("jail: read-only " + quote(path));
  return ok();
}

Status make_dev(const VmmJail& j) {
  std::string dev = j.root + "/dev";
  OCL_CHECK(make_mountpoint(j.root, "/dev", true));
  if (::mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0)
    return Error::last("jail: mount /dev");
  for (const auto& node : j.devices) OCL_CHECK(bind_into(j.root, node, true));
  if (j.pts) {
    OCL_CHECK(bind_into(j.root, "/dev/pts", true));
    if (::symlink("pts/ptmx", (dev + "/ptmx").c_str()) != 0) return Error::last("jail: link /dev/ptmx");
  }
  return ok();
}

// The bounding, permitted and effective sets cut to keep, and no_new_privs.
Status cut_capabilities(const std::vector<int>& keep) {
  uint64_t mask = 0;
  for (int c : keep) mask |= 1ULL << c;
  for (int c = 0; c <= 63; ++c) {
    if (mask & (1ULL << c)) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) return Error::last("jail: drop capability");
  }
  __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  d[0].effective = d[0].permitted = static_cast<uint32_t>(mask);
  d[1].effective = d[1].permitted = static_cast<uint32_t>(mask >> 32);
  if (::syscall(SYS_capset, &h, d) != 0) return Error::last("jail: capset");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::last("jail: no_new_privs");
  return ok();
}

// In a share helper's child, last: its socket as fd 3, output to the log, nothing else open, the
// capabilities cut; then the helper, which chroots into the share and serves it until QEMU
// closes its end.
[[noreturn]] void exec_share_helper(const std::string& bin, const std::string& share, int sock, int log_fd) noexcept {
  int nul = ::open("/dev/null", O_RDONLY);
  if (nul < 0 || ::dup2(nul, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0 || ::dup2(sock, 3) < 0)
    ::_exit(126);
  ::close_range(4, ~0U, 0);
  if (!cut_capabilities(share_helper_capabilities())) ::_exit(126);
  const char* argv[] = {bin.c_str(), "-n", "-f", "3", "-p", share.c_str(), nullptr};
  const char* envp[] = {nullptr};
  ::execve(bin.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  ::_exit(127);
}

[[noreturn]] void become_share_helper(const VmmJail& j, const std::string& share, int sock, int log_fd,
                                      pid_t vmm) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != vmm) ::_exit(1);
  exec_share_helper(j.share_helper, share, sock, log_fd);
}

}  // namespace

Result<std::vector<UniqueFd>> start_share_helpers(const VmmJail& j, int log_fd) {
  std::vector<UniqueFd> qemu_ends;
  if (j.share_helper.empty()) return qemu_ends;
  pid_t vmm = ::getpid();
  for (const auto& share : j.shares) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return Error::last("socket for the file server of " + quote(share));
    UniqueFd ours(sv[0]), theirs(sv[1]);
    pid_t pid = ::fork();
    if (pid < 0) return Error::last("fork the file server of " + quote(share));
    if (pid == 0) become_share_helper(j, share, theirs.get(), log_fd, vmm);
    qemu_ends.push_back(std::move(ours));
  }
  return qemu_ends;
}

Status confine(const VmmJail& j) { return cut_capabilities(jail_capabilities(j)); }

Status make_jail(const VmmJail& j) {
  if (::unshare(CLONE_NEWNS) != 0) return Error::last("jail: unshare the mount namespace");
  // Nothing made here reaches the host's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return Error::last("jail: make / private");
  if (::mount("tmpfs", j.root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0)
    return Error::last("jail: mount its root on " + quote(j.root));
  for (const auto& b : j.binds) OCL_CHECK(bind_into(j.root, b.path, b.writable, b.recursive));
  OCL_CHECK(make_dev(j));
  std::string proc = j.root + "/proc";
  OCL_CHECK(make_mountpoint(j.root, "/proc", true));
  if (::mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return Error::last("jail: mount /proc");
  if (::chdir(j.root.c_str()) != 0) return Error::last("jail: chdir");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return Error::last("jail: pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return Error::last("jail: detach the host's root");
  if (::chdir("/") != 0) return Error::last("jail: chdir /");
  // Its own tree is read-only from here: only what was bound writable can be written.
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return Error::last("jail: read-only root");
  return ok();
}

Result<HeldHelper> spawn_share_helper(const std::string& bin, const std::string& share, bool readonly, int sock,
                                      int log_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::last("pipe for the file server of " + quote(share));
  UniqueFd wait_end(p[0]), release(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::last("fork the file server of " + quote(share));
  if (pid == 0) {
    release.reset();
    char b;
    ssize_t n;
    do n = ::read(wait_end.get(), &b, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(1);  // the caller gave up on it
    // A mount namespace of its own, where a read-only share is a read-only bind: what the
    // guest asks of a read-only share fails here too, whatever the guest's kernel allows.
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(126);
    if (readonly && (::mount(share.c_str(), share.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
                     ::mount(nullptr, share.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0))
      ::_exit(126);
    exec_share_helper(bin, share, sock, log_fd);
  }
  return HeldHelper{pid, std::move(release)};
}

Status release_helper(HeldHelper& h) {
  ssize_t n;
  do n = ::write(h.release.get(), "g", 1);
  while (n < 0 && errno == EINTR);
  h.release.reset();
  if (n != 1) return Error::last("release the file server");
  return ok();
}

}  // namespace ocelot::vm
