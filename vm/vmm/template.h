// VM templates: a guest booted once, saved where its agent waits for a plan, and restored for
// every VM-isolated container that fits it, so a container's VM skips the kernel's boot.
//
// How (docs/vm.md, "Templates"): guest RAM is a file (memory-backend-file). Building, it is mapped
// shared, so the booted guest's memory lands in the file; QMP `migrate` with x-ignore-shared then
// saves only the device state (tens of KiB). Restoring, the new VMM maps the file private (copy on
// write: a guest never writes into the template, and N guests share its unchanged pages) and loads
// the device state with `migrate-incoming`. Per-container parts are host-side only and so can
// differ from the template's: the 9p share paths (the guest mounts them after the restore), the
// sockets and output files of the virtio-serial ports. The guest takes its id, clock and a fresh
// random seed from the plan.
//
// A template is keyed by everything the saved guest depends on (QEMU binary, kernel, initramfs,
// RAM size, vCPUs, accelerator, port set, TSC rate): a new kernel, agent or QEMU never restores a
// stale one. One template per memory/CPU size class, built on first use.
#pragma once

#include <string>

#include "base/error.h"
#include "vm/vmm/qemu.h"

namespace ocelot::vm {

// 9p devices a template has: the rootfs and up to 3 bind-mount directories (plan_guest shares
// each host directory once). A guest plan with more boots cold. Unused slots share an empty
// read-only directory. Each device costs about 4 ms of VMM start (measured), so not more.
inline constexpr size_t kTemplateShareSlots = 4;

// Why this plan cannot use a template ("" when it can).
std::string template_unfit(const VmPlan& p);
// The key text of a plan (pure: file identities are passed in); its hash names the directory.
std::string template_key(const VmPlan& p, const std::string& qemu_identity, const std::string& kernel_identity);
std::string template_dir_name(const std::string& key);
// The plan with its shares padded to the template's slots (tags rootfs, m1..m7).
VmPlan with_template_slots(VmPlan p, const std::string& empty_dir);

struct Template {
  std::string dir;  // holds ram, state, key
  std::string ram() const { return dir + "/ram"; }
  std::string state() const { return dir + "/state"; }
};

// The template for this plan: built now when missing (a cold boot, then a save: seconds under
// TCG). `built` says whether it was built by this call.
// p: slot-padded (with_template_slots); empty_dir: what unused slots share.
Result<Template> ensure_template(const VmPlan& p, const std::string& empty_dir, bool* built);
// The empty read-only directory unused share slots point at (made on first use).
Result<std::string> template_empty_dir();
// Forgets a template that failed to restore (stale or damaged); the next use builds it again.
void discard_template(const Template& t);

}  // namespace ocelot::vm
