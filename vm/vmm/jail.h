// The VMM's jail: what QEMU can reach on the host if a guest takes it over. As Firecracker's
// jailer and Kata's sandboxed QEMU do, the VMM runs
//   - in a private mount namespace whose root is an empty tmpfs holding only what it was given,
//     each at its own absolute path: the system's /usr (read-only: QEMU, its libraries and
//     firmware), the guest kernel and initramfs (read-only), its state directory (sockets, log),
//     the template RAM file, the 9p shares (read-only where the config says so), a /dev with the
//     few nodes it opens (null, zero, urandom, random, kvm under KVM, pts for a terminal) and a
//     /proc of its own (it opens its stdio as /proc/self/fd/N). The rest of the host's files,
//     other containers' state and the caller's home are not there to open.
//   - as an unprivileged uid and gid of its own (kVmmIdBase + its pid) with no capability, when
//     QEMU's 9p helper is installed: each share is served by a virtfs-proxy-helper (root, the
//     seven capabilities file serving needs, chrooted into its share by itself, forked here so
//     it is in the container's cgroup and dies with the VMM). QEMU opens its files as root with
//     only setuid and setgid left, then drops (-runas) before the guest runs a single
//     instruction. Without the helper it stays uid 0 with the capabilities 9p passthrough of a
//     rootfs owned by many uids needs (chown, DAC override, fowner, fsetid, mknod, setfcap);
//   - with no_new_privs, under QEMU's own seccomp sandbox (qemu_argv adds -sandbox: no obsolete
//     syscalls, no fork or exec, no scheduler or resource changes);
//   - in the container's cgroup (the creation core puts it there).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vm/vmm/qemu.h"

namespace ocelot::vm {

struct JailBind {
  std::string path;  // absolute, on the host and in the jail alike
  bool writable = false;
  bool recursive = false;  // with the mounts beneath it (a share's, as the container would see them)
};

struct VmmJail {
  std::string root;                  // an empty directory the jail's tmpfs is mounted on
  std::vector<JailBind> binds;       // in order: a path's parents come first
  std::vector<std::string> devices;  // /dev nodes bound into the jail's /dev
  bool pts = false;                  // /dev/pts (a terminal's pty slave)
  // An unprivileged VMM's share helper (VmPlan::share_helper) and the shares it serves, in order.
  std::string share_helper;
  std::vector<std::string> shares;
};

// The capabilities the VMM keeps (bit numbers): setuid and setgid until its -runas when it
// drops to its own uid, else what 9p passthrough needs.
std::vector<int> jail_capabilities(const VmmJail& j);
// The capabilities a share helper keeps: what it serves files with, and what it chroots and
// drops its own bounding set with.
std::vector<int> share_helper_capabilities();

// The jail of a VMM for plan p running in dir (its state or template directory). Pure: what is
// a directory and what exists is decided when the jail is made.
VmmJail plan_jail(const VmPlan& p, const std::string& dir);

// In the VMM's child, before execve, in this order. Errors name the step; the child writes them
// to the VMM's log and exits.
// The jail's tree: a new mount namespace, pivot_root into root.
Status make_jail(const VmmJail& j);
// One share helper per share, each a child of the VMM's that dies with it (its output goes to
// log_fd). Returns QEMU's ends of their sockets, in share order.
Result<std::vector<UniqueFd>> start_share_helpers(const VmmJail& j, int log_fd);
// The capability sets cut to jail_capabilities and no_new_privs set.
Status confine(const VmmJail& j);
// A share helper started outside a VMM's jail (a pool's spare and the container's helpers at its
// hand-off, vm/pool/pool.h): held before its execve until release_helper (the caller puts it in
// the container's cgroup first). It serves share on sock (its end of QEMU's socket pair) from a
// mount namespace of its own, where a read-only share is bound read-only.
struct HeldHelper {
  pid_t pid = 0;
  UniqueFd release;
};
Result<HeldHelper> spawn_share_helper(const std::string& bin, const std::string& share, bool readonly, int sock,
                                      int log_fd);
Status release_helper(HeldHelper& h);
// The -runas value of the VMM with this pid ("uid:gid").
std::string vmm_runas(pid_t pid);

}  // namespace ocelot::vm
