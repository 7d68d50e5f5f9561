// The VMM command line, as plain data (unit-tested): qemu-system-x86_64 with the smallest device
// set that works, KVM where /dev/kvm is usable, else TCG. Facts it relies on (measured here):
// microvm needs rtc=on under TCG and acpi=on (Debian's kernel finds virtio-mmio through ACPI), and
// tsc_early_khz under TCG or the guest hangs calibrating its clock; the kernel is the uncompressed
// vmlinux booted through its PVH entry (decompressing the bzImage costs seconds under TCG).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vm/share/guest_config.h"
#include "vm/transport/protocol.h"

namespace ocelot::vm {

// The VMM's fd of the first NIC's tap (3 and 4 are the workload's output, 5 a template's state).
inline constexpr int kNicFd = 6;
// The VMM's fd of share i's file server socket (virtfs-proxy-helper's end is its own fd 3).
inline constexpr int kShareFd = 64;
// An unprivileged VMM's uid and gid: this plus its pid (a pid names one live process, so no two
// VMMs share an id and neither can signal or trace the other; pid_max is at most 2^22).
inline constexpr unsigned kVmmIdBase = 0x70000000;

struct VmPlan {
  std::string qemu = "qemu-system-x86_64";
  bool kvm = false;
  std::string kernel, initrd;
  unsigned memory_mib = 256;
  unsigned cpus = 1;
  unsigned long tsc_khz = 0;
  std::vector<Share> shares;             // virtio-9p, one device each
  std::string ctl_socket, cmd_socket;    // unix sockets (QEMU is the server)
  int exec_sessions = 0;                 // exec ports, their sockets exec_socket_name(i)
  std::string stdout_path, stderr_path;  // where the workload's output goes
  std::string tty_path;                  // process.terminal: the host pty slave QEMU opens
  // A virtio-net NIC per MAC, its backend the tap at fd kNicFd + i (vm/vmm/network.h), or a hub
  // port with nic_placeholders (a template's build: no tap; each restore brings its own, and the
  // agent gives the NIC the container's MAC).
  std::vector<std::string> nic_macs;
  bool nic_placeholders = false;
  std::string extra_cmdline;
  std::string console_log;  // debugging: the guest kernel's console goes to this file
  // VM templates (vm/template.h). ram_file: guest RAM is this file, mapped shared (building a
  // template: the guest's memory lands in it) or private (a guest restored from it: copy on
  // write, the template never changes). qmp_socket: a QMP monitor, to save and to restore.
  // incoming: start paused, waiting for the saved device state (QMP migrate-incoming).
  std::string ram_file;
  bool ram_shared = false;
  std::string qmp_socket;
  bool incoming = false;
  bool template_build = false;  // the agent says "waiting" before it reads a plan
  // QEMU's seccomp sandbox (-sandbox on with every optional deny: obsolete syscalls, privilege
  // changes, fork/exec, scheduler and resource changes). The VMM's jail (vm/vmm/jail.h) goes with it.
  bool sandbox = true;
  // With the sandbox: QEMU's 9p file server helper (virtfs-proxy-helper). Each share is then
  // served by a helper of its own (fsdev "proxy" on fd kShareFd + i), and QEMU drops to an
  // unprivileged uid once it has opened its files (-runas, added by the VMM's child, which knows
  // its pid). Empty: QEMU serves the shares itself (9p passthrough) and keeps uid 0.
  std::string share_helper;
  // Shares from this index on are a template's unused slots (an empty read-only directory the
  // guest never mounts): QEMU serves them itself, no helper is started for them.
  size_t served_shares = SIZE_MAX;
};

// Does the plan's VMM drop to an unprivileged uid (a sandbox with a share helper)?
inline bool unprivileged_vmm(const VmPlan& p) { return p.sandbox && !p.share_helper.empty(); }
// Is share i served by a helper of its own?
inline bool helper_serves(const VmPlan& p, size_t i) { return unprivileged_vmm(p) && i < p.served_shares; }

std::vector<std::string> qemu_argv(const VmPlan& p);
// The VMM's environment: ours (env: a NULL-ended array, as environ), with glibc's malloc asked for
// transparent huge pages (GLIBC_TUNABLES glibc.malloc.hugetlb=1, added to what is set unless that
// tunable is). QEMU's TCG allocates its translation structures and TLBs as it goes: in 4 KiB pages
// that is about 2,000 page faults per container start, about 25 ms here (measured, bench/vm.sh).
std::vector<std::string> vmm_environment(char** env);
// The kernel command line of the plan (part of qemu_argv).
std::string kernel_cmdline(const VmPlan& p);

}  // namespace ocelot::vm
