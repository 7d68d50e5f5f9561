#include "vm/vmm/qemu.h"

namespace ocelot::vm {

// QEMU splits option values at ',' and reads ",," as a literal comma.
static std::string esc(const std::string& v) {
  std::string o;
  for (char c : v) o += c == ',' ? std::string(",,") : std::string(1, c);
  return o;
}

std::string kernel_cmdline(const VmPlan& p) {
  // No console unless debugging: kernel messages must never mix with the workload's output.
  // pci=off: microvm has no PCI bus, probing it only costs time. audit=0: nothing reads it.
  std::string c = p.console_log.empty() ? "quiet loglevel=0" : "console=ttyS0 loglevel=7 ocelot.trace=1";
  // cryptomgr.notests: the crypto self-tests cost about 0.25 s of TCG boot (measured with
  // initcall_debug); they check implementations, they guard no boundary.
  c += " panic=-1 rdinit=/init pci=off audit=0 no_timer_check cryptomgr.notests";
  if (!p.kvm) {
    // Without tsc_early_khz the guest hangs calibrating its TSC under TCG.
    if (p.tsc_khz) c += " tsc_early_khz=" + std::to_string(p.tsc_khz);
    // TCG's TSC follows the host's clock: the clocksource watchdog only ever sees a skew when the
    // guest was paused (saved as a template, restored later), then drops the TSC for jiffies.
    c += " tsc=reliable";
    // TCG does not emulate speculative execution, so the guest's Spectre/Meltdown mitigations
    // protect nothing there and cost 0.1-0.2 s of boot. Under KVM they stay on.
    c += " mitigations=off";
  }
  // How many ports the agent waits for (they appear one by one as the driver probes them).
  c += " ocelot.ports=" + std::to_string(4 + p.exec_sessions + !p.tty_path.empty());
  if (p.template_build) c += " ocelot.template=1";
  if (!p.extra_cmdline.empty()) c += " " + p.extra_cmdline;
  return c;
}

std::vector<std::string> qemu_argv(const VmPlan& p) {
  std::vector<std::string> a = {
      p.qemu,      "-nodefaults", "-no-user-config", "-nographic",
      "-monitor",  "none",        "-serial",         p.console_log.empty() ? "none" : "file:" + esc(p.console_log),
      "-no-reboot"};
  // microvm: no PCI, no firmware; acpi=on (virtio-mmio devices are found through ACPI), rtc=on
  // (off costs about a second under TCG).
  if (p.ram_file.empty()) {
    a.insert(a.end(), {"-M", "microvm,acpi=on,rtc=on"});
  } else {
    a.insert(a.end(), {"-M", "microvm,acpi=on,rtc=on,memory-backend=ram", "-object",
                       "memory-backend-file,id=ram,size=" + std::to_string(p.memory_mib) +
                           "M,mem-path=" + esc(p.ram_file) + ",share=" + (p.ram_shared ? "on" : "off")});
  }
  if (p.kvm) a.insert(a.end(), {"-accel", "kvm", "-cpu", "host"});
  // TCG: tb-size bounds the translation cache (its default is 1 GiB) so the VMM's memory stays near
  // the guest's. The CPU is "max" (workloads built for x86-64-v3 run) without ERMS/FSRM: with them
  // the guest kernel clears and copies pages with byte-wise rep stosb/movsb, which TCG emulates one
  // iteration at a time (measured: 0.2-0.3 s of a 2.2 s boot-to-exit).
  else
    a.insert(a.end(), {"-accel", "tcg,tb-size=64", "-cpu", "max,erms=off,fsrm=off"});
  a.insert(a.end(), {"-m", std::to_string(p.memory_mib), "-smp", std::to_string(p.cpus)});
  a.insert(a.end(), {"-kernel", p.kernel, "-initrd", p.initrd, "-append", kernel_cmdline(p)});
  a.insert(a.end(), {"-device", "virtio-serial-device"});
  auto port = [&](const std::string& id, const std::string& chardev, const std::string& name) {
    a.insert(a.end(), {"-chardev", chardev, "-device", "virtserialport,chardev=" + id + ",name=" + name});
  };
  port("ctl", "socket,id=ctl,path=" + esc(p.ctl_socket) + ",server=on,wait=off", kCtlPort);
  port("cmd", "socket,id=cmd,path=" + esc(p.cmd_socket) + ",server=on,wait=off", kCmdPort);
  for (int i = 0; i < p.exec_sessions; ++i) {
    std::string id = "exec" + std::to_string(i);
    port(id, "socket,id=" + id + ",path=" + esc(exec_socket_name(i)) + ",server=on,wait=off", exec_port_name(i));
  }
  port("out", "file,id=out,path=" + esc(p.stdout_path) + ",append=on", kOutPort);
  port("err", "file,id=err,path=" + esc(p.stderr_path) + ",append=on", kErrPort);
  if (!p.tty_path.empty()) port("tty", "tty,id=tty,path=" + esc(p.tty_path), kTtyPort);
  for (size_t i = 0; i < p.shares.size(); ++i) {
    const Share& s = p.shares[i];
    std::string fsdev = helper_serves(p, i)
                            ? "proxy,id=" + s.tag + ",sock_fd=" + std::to_string(kShareFd + static_cast<int>(i))
                            : "local,id=" + s.tag + ",path=" + esc(s.host_path) + ",security_model=passthrough";
    if (s.readonly) fsdev += ",readonly=on";
    a.insert(a.end(), {"-fsdev", fsdev, "-device", "virtio-9p-device,fsdev=" + s.tag + ",mount_tag=" + s.tag});
  }
  for (size_t i = 0; i < p.nic_macs.size(); ++i) {
    std::string id = "net" + std::to_string(i);
    std::string backend = p.nic_placeholders ? "hubport,id=" + id + ",hubid=" + std::to_string(i)
                                             : "tap,id=" + id + ",fd=" + std::to_string(kNicFd + static_cast<int>(i));
    a.insert(a.end(), {"-netdev", backend, "-device", "virtio-net-device,netdev=" + id + ",mac=" + p.nic_macs[i]});
  }
  if (!p.qmp_socket.empty()) a.insert(a.end(), {"-qmp", "unix:" + esc(p.qmp_socket) + ",server=on,wait=off"});
  if (p.incoming) a.insert(a.end(), {"-incoming", "defer"});
  // An unprivileged VMM drops its uid itself (-runas), after QEMU has installed the filter: set*uid
  // must stay allowed for that one call, and can only fail after it (no capability is left).
  if (p.sandbox)
    a.insert(a.end(), {"-sandbox", std::string("on,obsolete=deny,elevateprivileges=") +
                                       (unprivileged_vmm(p) ? "allow" : "deny") + ",spawn=deny,resourcecontrol=deny"});
  return a;
}

std::vector<std::string> vmm_environment(char** env) {
  static constexpr std::string_view kName = "GLIBC_TUNABLES=", kThp = "glibc.malloc.hugetlb=";
  std::vector<std::string> out;
  bool set = false;
  for (char** e = env; e && *e; ++e) {
    std::string v = *e;
    if (v.rfind(kName, 0) == 0) {
      set = true;
      if (v.find(kThp) == std::string::npos) v += (v.size() > kName.size() ? ":" : "") + std::string(kThp) + "1";
    }
    out.push_back(std::move(v));
  }
  if (!set) out.push_back(std::string(kName) + std::string(kThp) + "1");
  return out;
}

}  // namespace ocelot::vm
