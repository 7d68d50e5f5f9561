#include "vm/agent/agent_spares.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "cgroups/device_filter.h"
#include "namespaces/net.h"

namespace ocelot::vm {

// unshare() moves the caller; the agent goes back to its own namespace once the new one is pinned.
Status pin_spare_netns() {
  UniqueFd own(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return Error::last("open /proc/self/ns/net");
  if (!fs::mkdir_p(fs::dirname(kSpareNetns), 0700)) return Error::last("create " + quote(fs::dirname(kSpareNetns)));
  UniqueFd pin(::open(kSpareNetns, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  if (!pin.valid()) return Error::last("create " + quote(kSpareNetns));
  if (::unshare(CLONE_NEWNET) != 0) return Error::last("unshare a network namespace");
  // What the runtime does in a network namespace it makes (namespaces/net.h): lo up.
  auto lo = ns::loopback_up_in_child();
  bool pinned = lo && ::mount("/proc/self/ns/net", kSpareNetns, nullptr, MS_BIND, nullptr) == 0;
  int err = lo ? errno : lo.error().code;
  if (::setns(own.get(), CLONE_NEWNET) != 0) return Error::last("return to the agent's network namespace");
  if (!pinned) return Error::sys(err, "pin the spare network namespace at " + quote(kSpareNetns));
  return ok();
}

namespace {

// One controller at a time, as the runtime enables them: one the kernel refuses stays off.
void enable_controllers(const std::string& dir, const std::string& controllers) {
  std::istringstream in(controllers);
  std::string c;
  while (in >> c) (void)fs::write_existing(dir + "/cgroup.subtree_control", "+" + c);
}

// Waits (up to 3 s) while the clocksource is one the kernel only uses until a better one is
// ready: "tsc-early" until the refined TSC calibration, the jiffies ones before any. Under KVM
// the guest is on kvm-clock from the start and nothing is waited for.
void wait_for_final_clocksource() {
  const char* f = "/sys/devices/system/clocksource/clocksource0/current_clocksource";
  for (int i = 0; i < 300; ++i) {
    auto cur = fs::read_file(f);
    if (!cur) return;
    std::string c = *cur;
    while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
    if (c != "tsc-early" && c != "refined-jiffies" && c != "jiffies") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

AgentSpares prepare_spares_in_guest() {
  wait_for_final_clocksource();
  AgentSpares s;
  if (auto st = pin_spare_netns(); st)
    s.netns = true;
  else
    s.notes += "no spare network namespace: " + st.error().msg + "; ";

  const std::string root = "/sys/fs/cgroup";
  auto controllers = fs::read_file(root + "/cgroup.controllers");
  if (controllers) {
    enable_controllers(root, *controllers);
    for (const char* parent : {"/ocelot", "/docker", "/machine.slice", "/system.slice"}) {
      std::string dir = root + parent;
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) continue;
      enable_controllers(dir, *controllers);
    }
  } else {
    s.notes += "no cgroup2 controllers: " + controllers.error().msg + "; ";
  }

  // A config's default: one rule denying every device (what `ocelot spec`, podman and docker write
  // first); the runtime adds its default devices. Other rule sets load their own program.
  spec::DeviceCgroup deny_all;
  deny_all.access = "rwm";
  if (auto st = cgroups::preload_device_filter({deny_all}, {}); !st) {
    s.notes += "no preloaded device program: " + st.error().msg + "; ";
  } else if (controllers) {
    // Attached once, to a cgroup of its own that never holds a process: the kernel's first device
    // program attach enables its device-hook static key, patching kernel code, which under TCG
    // also throws away translated code. Done here, no container start pays for it.
    std::string dir = root + kDeviceHookCgroup;
    Status st = ::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST ? cgroups::attach_device_filter(dir, {deny_all}, {})
                                                                   : Error::last("create " + quote(dir));
    if (!st) s.notes += "device hook not enabled: " + st.error().msg + "; ";
  }
  return s;
}

}  // namespace ocelot::vm
