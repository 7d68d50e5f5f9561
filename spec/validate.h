// Checks of the runtime-spec's MUSTs that need no kernel: absolute paths, known names, unique
// namespace types, consistent user-namespace mappings. Each failure is one message naming the
// JSON path, e.g. `process.cwd: must be an absolute path, got "tmp"`.
#pragma once

#include <string>

#include "runtime/base/error.h"
#include "spec/config.h"

namespace ocelot::spec {

Status validate(const Config& c);
Status validate_process(const Process& p, const std::string& path);
Status validate_seccomp(const Seccomp& s, const std::string& path);

}  // namespace ocelot::spec
