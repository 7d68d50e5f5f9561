#include <nlohmann/json.hpp>

#include "cgroups/layout.h"
#include "cli/commands.h"
#include "namespaces/mount_options.h"
#include "runtime/seccomp.h"
#include "spec/names.h"
#include "spec/state.h"

namespace ocelot::cli {

// runtime-spec features.md: only what ocelot really does.
OCELOT_COMMAND(cmd_features) {
  (void)ctx;
  (void)f;
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
  l["apparmor"] = {{"enabled", false}};
  l["selinux"] = {{"enabled", false}};
  l["intelRdt"] = {{"enabled", false}};
  l["mountExtensions"] = {{"idmap", {{"enabled", false}}}};
  j["linux"] = l;
  j["annotations"] = {{"org.ocelot.cgroup.mode", layout ? cgroups::mode_name(layout->mode) : "unknown"},
                      {"org.ocelot.cgroup.hybrid", "true"},
                      {"org.ocelot.isolation", "container"}};
  print(j.dump(4) + "\n");
  return 0;
}

}  // namespace ocelot::cli
