// Plain types back to runtime-spec JSON, where another process must read them again: a
// linux.resources object for `update` of a VM-isolated container (the guest applies it).
// parse_resources(resources_to_json(r)) == r (unit-tested).
#pragma once

#include <string>

#include "spec/config.h"

namespace ocelot::spec {

std::string resources_to_json(const Resources& r);

}  // namespace ocelot::spec
