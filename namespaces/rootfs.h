// The container's root filesystem, set up by the container init inside its new mount namespace:
// mounts in config order (destinations resolved inside the rootfs), /dev with the default devices
// and symlinks of config-linux.md, linux.devices, then pivot_root (or MS_MOVE + chroot for
// --no-pivot), then sysctls, read-only and masked paths, and a read-only root. Runs only in the child
// (the `_in_child` functions); every failure names the step and path.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::ns {

// How to present one cgroup hierarchy under a "cgroup" mount: mounted afresh (with a cgroup
// namespace, the container sees its own cgroup as root) or bind-mounted from the host.
struct CgroupMount {
  std::string name;         // "memory", "cpu,cpuacct", "unified", "" for a pure v2 host
  std::string fstype;       // "cgroup" or "cgroup2"
  std::string data;         // controllers for v1 ("memory", "none,name=systemd")
  std::string host_source;  // the container's cgroup dir on the host, for bind mounts
};

struct RootfsParams {
  const spec::Config* config = nullptr;
  std::string bundle;  // for relative mount sources
  std::string rootfs;  // absolute host path
  bool no_pivot = false;
  // No mount namespace of its own (the runtime-spec allows it): the mounts are made in the
  // runtime's mount namespace, under the rootfs, which is entered with chroot (as runc); nothing
  // is done to the propagation of "/", and delete unmounts everything under the rootfs.
  bool host_mount_ns = false;
  bool new_userns = false;  // devices are bind-mounted from the host instead of mknod
  bool cgroupns = false;
  std::vector<CgroupMount> cgroup_mounts;
  // Called once before the first cgroup mount (and by the caller after the mounts if there was
  // none): the container init waits here until the parent has moved it into its cgroups, so that
  // the parent's slow cgroup v1 migration overlaps the mounts before it.
  Status (*before_cgroup_mount)(void* ctx) = nullptr;
  void* before_cgroup_mount_ctx = nullptr;
};

Status prepare_rootfs_in_child(const RootfsParams& p);
// The propagation "/" gets first in a new mount namespace (pure): MS_SHARED|MS_REC when
// rootfsPropagation asks for sharing, MS_PRIVATE|MS_REC for private, else MS_SLAVE|MS_REC.
unsigned long initial_root_propagation(const spec::Config& c);
// pivot_root (or MS_MOVE + chroot for --no-pivot, or chroot without a mount namespace).
Status enter_root_in_child(const RootfsParams& p);
// After pivot: sysctls, read-only and masked paths, read-only /dev and root.
Status finalize_rootfs_in_child(const RootfsParams& p);
// Bind-mounts the terminal (the pty's peer, by fd) onto /dev/console (after pivot).
Status mount_console_in_child(int terminal_fd);

// Parent side, for a container without its own mount namespace: unmounts (lazily, deepest first)
// every mount at or under rootfs in our mount namespace.
Status unmount_under(const std::string& rootfs);

}  // namespace ocelot::ns
