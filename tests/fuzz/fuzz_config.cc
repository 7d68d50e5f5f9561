// config.json as anyone could write it: parse and validate, then every pure planner that consumes
// a config (namespace plan, mount options, cgroup v1/v2 plans, device filter, guest plan, the
// resources serializer round trip). Nothing may crash, abort or leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cgroups/device_filter.h"
#include "cgroups/plan.h"
#include "namespaces/mount_options.h"
#include "namespaces/plan.h"
#include "spec/parse.h"
#include "spec/serialize.h"
#include "spec/validate.h"
#include "vm/share/guest_config.h"

using namespace ocelot;

static bool never_dir(const std::string&) { return false; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string stored;
  auto c = spec::parse_config(text, stored);
  (void)spec::parse_process(text);
  (void)vm::plan_guest(text, "/bundle", never_dir);
  if (!c) return 0;
  for (const auto& m : c->mounts) (void)ns::parse_mount_options(m.options);
  if (c->linux) {
    (void)ns::plan_namespaces(*c->linux);
    if (c->linux->resources) {
      const auto& r = *c->linux->resources;
      (void)cgroups::plan_v1(r);
      (void)cgroups::plan_v2(r);
      auto prog = cgroups::compile_device_filter(
          cgroups::effective_device_rules(r.devices, cgroups::device_node_rules(c->linux->devices)));
      (void)cgroups::interpret_device_filter(prog, 'c', 1, 3, "rw");
      auto back = spec::parse_resources(spec::resources_to_json(r));
      if (!back) __builtin_trap();  // what we write must read back
    }
    for (const auto& [k, v] : c->linux->sysctl) (void)spec::sysctl_proc_path(k);
  }
  return 0;
}
