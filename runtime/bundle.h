// Loading a bundle for create: config.json read (at most spec::kMaxConfigBytes), parsed and
// validated once, the rootfs checked, and the checks that need the host (a namespace "joined"
// by path that is in fact the host's own, for sysctls). What create keeps for later commands is
// the config without its annotations, and the annotations apart (runtime/state_store.h).
#pragma once

#include <string>

#include "base/error.h"
#include "namespaces/plan.h"
#include "spec/config.h"

namespace ocelot::runtime {

struct Bundle {
  std::string dir;     // absolute
  std::string rootfs;  // absolute, resolved
  spec::Config config;
  std::string text;  // config.json as read
  std::string config_without_annotations;
  ns::NsPlan ns;
  // Hooks the runtime runs on the host during create (prestart, createRuntime).
  bool has_host_hooks() const { return !config.hooks.prestart.empty() || !config.hooks.create_runtime.empty(); }
};

// text: config.json's content when the caller has read it already ("" reads it here).
Result<Bundle> load_bundle(const std::string& dir, const std::string& text = "");

}  // namespace ocelot::runtime
