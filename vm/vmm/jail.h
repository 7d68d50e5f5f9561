// The VMM's jail: what QEMU can reach on the host if a guest takes it over. As Firecracker's
// jailer and Kata's sandboxed QEMU do, the VMM runs
//   - in a private mount namespace whose root is an empty tmpfs holding only what it was given,
//     each at its own absolute path: the system's /usr (read-only: QEMU, its libraries and
//     firmware), the guest kernel and initramfs (read-only), its state directory (sockets, log),
//     the template RAM file, the 9p shares (read-only where the config says so), a /dev with the
//     few nodes it opens (null, zero, urandom, random, kvm under KVM, pts for a terminal) and a
//     /proc of its own (it opens its stdio as /proc/self/fd/N). The rest of the host's files,
//     other containers' state and the caller's home are not there to open.
//   - with no_new_privs and a capability bounding set cut to what 9p passthrough of a rootfs
//     owned by many uids needs (chown, DAC override, fowner, fsetid, mknod, setfcap): a guest
//     that writes a file as uid 1000 has QEMU chown it, as the container would have;
//   - under QEMU's own seccomp sandbox (qemu_argv adds -sandbox: no obsolete syscalls, no
//     privilege changes, no fork or exec, no scheduler or resource changes);
//   - in the container's cgroup (the creation core puts it there).
// It stays uid 0: the 9p server is inside QEMU, and a rootfs owned by root and other uids can
// only be served with passthrough by a process that may act as them (docs/security.md, "The
// VMM"). Moving the file server out of QEMU (virtiofsd, as Kata) is what would let QEMU drop to
// an unprivileged uid.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
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
};

// The capabilities the VMM keeps (bit numbers).
std::vector<int> jail_capabilities();

// The jail of a VMM for plan p running in dir (its state or template directory). Pure: what is
// a directory and what exists is decided when the jail is made.
VmmJail plan_jail(const VmPlan& p, const std::string& dir);

// In the VMM's child, before execve: makes the jail (a new mount namespace, pivot_root into
// root), cuts the capability bounding set and sets no_new_privs. Errors name the step; the
// child writes them to the VMM's log and exits.
Status enter_jail(const VmmJail& j);

}  // namespace ocelot::vm
