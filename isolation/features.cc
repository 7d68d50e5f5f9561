#include "isolation/features.h"

#include "runtime/criu.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cgroups/layout.h"
#include "isolation/registry.h"
#include "namespaces/mount_options.h"
#include "runtime/lsm.h"
#include "runtime/seccomp.h"
#include "spec/names.h"
#include "spec/state.h"
#include "vm/vmm/image.h"

namespace ocelot::isolation {

std::string features_json(const std::string& criu_flag) {
  std::string names;
  for (const auto& b : backends()) names += (names.empty() ? "" : ",") + std::string(b.name);
  nlohmann::ordered_json j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = spec::kOciVersion;
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  j["mountOptions"] = ns::known_mount_options();
  nlohmann::ordered_json l;
  l["namespaces"] = spec::all_namespace_types();
  l["capabilities"] = spec::all_capability_names();
  auto layout = cgroups::detect_layout();
  l["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}};
  l["seccomp"] = {{"enabled", true},
                  {"actions", runtime::seccomp_known_actions()},
                  {"operators", runtime::seccomp_known_ops()},
                  {"archs", runtime::seccomp_known_archs()},
                  {"knownFlags", runtime::seccomp_known_flags()},
                  {"supportedFlags", runtime::seccomp_known_flags()}};
  l["apparmor"] = {{"enabled", runtime::apparmor_enabled()}};
  l["selinux"] = {{"enabled", runtime::selinux_enabled()}};
  l["intelRdt"] = {{"enabled", false}};
  l["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
  j["linux"] = l;
  // What this host has, per hierarchy, and what ocelot does with it.
  std::string v1, v2;
  if (layout) {
    for (const auto& [c, h] : layout->v1)
      if (c.rfind("name=", 0) != 0) v1 += (v1.empty() ? "" : ",") + c;
    for (const auto& c : layout->v2_controllers) v2 += (v2.empty() ? "" : ",") + c;
  }
  j["annotations"] = {{"org.ocelot.cgroup.mode", layout ? cgroups::mode_name(layout->mode) : "unknown"},
                      {"org.ocelot.cgroup.hybrid", "true"},
                      {"org.ocelot.cgroup.v1.controllers", v1},
                      {"org.ocelot.cgroup.v2.controllers", v2},
                      {"org.ocelot.cgroup.v2.devices", "ebpf"},
                      {"org.ocelot.seccomp.bpfCache", "true"},
                      {"org.ocelot.isolation", names}};
  // Rootless: supported; cgroups only where a writable (delegated) cgroup exists, which on a v1 or
  // hybrid host is never; ids beyond the caller's own through newuidmap/newgidmap.
  j["annotations"]["org.ocelot.rootless"] = "true";
  j["annotations"]["org.ocelot.rootless.cgroups"] =
      layout && layout->mode == cgroups::Mode::v2 ? "delegated" : "none (cgroup v1 or hybrid host)";
  j["annotations"]["org.ocelot.rootless.idMapHelpers"] =
      ::access("/usr/bin/newuidmap", X_OK) == 0 && ::access("/usr/bin/newgidmap", X_OK) == 0 ? "true" : "false";
  // VM isolation: whether this host can run it now, and with which accelerator.
  auto qemu = vm::find_qemu();
  auto kernel = vm::find_kernel("");
  j["annotations"]["org.ocelot.vm.available"] = qemu && kernel ? "true" : "false";
  j["annotations"]["org.ocelot.vm.accelerator"] = qemu && vm::kvm_usable(*qemu) ? "kvm" : "tcg";
  // Checkpoint and restore: through CRIU, the one found (or why there is none).
  j["annotations"]["org.ocelot.checkpoint"] = runtime::criu_summary(criu_flag);
  return j.dump(4);
}

}  // namespace ocelot::isolation
