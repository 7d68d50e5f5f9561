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
// QEMU's 9p file server helper (virtfs-proxy-helper, in qemu-system-common up to QEMU 9.1), or
// "" when this host has none or $OCELOT_VM_SHARE_HELPER is "off" (the VMM then serves the
// shares itself and keeps uid 0: vm/vmm/jail.h). $OCELOT_VM_SHARE_HELPER may name another path,
// an error when it is not an executable.
Result<std::string> find_share_helper();

// KVM: $OCELOT_VM_ACCEL=kvm|tcg decides; else /dev/kvm must open and create a VM, and must not
// be remembered as broken for this boot of the host and this QEMU (nested setups pass both checks
// and still cannot run a guest). The memory is the marker file below: it names the host's boot,
// kernel and QEMU it was made under, so a reboot, a new kernel or a new QEMU tries KVM again.
bool kvm_usable(const std::string& qemu);
// Remembers, for this boot and QEMU, that KVM could not run a guest and why. Only on evidence that
// KVM itself failed: QEMU said so (vm/vmm/process.h kvm_failed_in_log), or the guest never
// answered under KVM and then did under TCG. A guest killed for memory or slowed by the host's
// load is no reason.
void remember_kvm_broken(const std::string& qemu, const std::string& why);
// The marker's text for this host boot and QEMU (pure).
std::string kvm_marker_text(const std::string& boot_id, const std::string& kernel, const std::string& qemu_identity,
                            const std::string& why);
// Does a marker's text apply to this host boot and QEMU? (pure)
bool kvm_marker_applies(const std::string& marker, const std::string& boot_id, const std::string& kernel,
                        const std::string& qemu_identity);
unsigned long host_tsc_khz();

}  // namespace ocelot::vm
