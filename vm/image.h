// The guest image on the host: which kernel boots, the initramfs (the agent plus the kernel
// modules it loads), and whether KVM can run it. Everything is cached under /var/cache/ocelot/vm;
// the initramfs is keyed by the content hash of what goes into it, so it is built once per agent
// and kernel and never goes stale.
#pragma once

#include <string>

#include "base/error.h"

namespace ocelot::vm {

inline constexpr const char* kVmCache = "/var/cache/ocelot/vm";

struct GuestKernel {
  std::string image;        // vmlinux (PVH) or bzImage
  std::string modules_dir;  // <name>.ko files and "order"; "" when the kernel has them built in
};

// requested: --vm-kernel ("" = $OCELOT_VM_KERNEL_DIR or the cache's kernel/ from `make vm-setup`).
Result<GuestKernel> find_kernel(const std::string& requested);
// The cached initramfs for this agent binary and kernel: /init = agent, lib/modules/*.
Result<std::string> initramfs(const std::string& agent, const GuestKernel& k);
// The qemu binary, or a one-line error naming the package to install.
Result<std::string> find_qemu();

// KVM: $OCELOT_VM_ACCEL=kvm|tcg decides; else /dev/kvm must open and create a VM, and must not
// have failed to boot a guest before (remembered in the cache: nested setups can pass both checks
// and still not run a guest).
bool kvm_usable();
void remember_kvm_broken(const std::string& why);
unsigned long host_tsc_khz();

}  // namespace ocelot::vm
