// The one place an isolation is chosen. create and run: VM when --isolation=vm, when ocelot is
// invoked as ocelot-vm, or when the bundle's config has the annotation org.ocelot.isolation=vm;
// a container otherwise. Every other command: what create recorded for that container.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "runtime/isolation.h"

namespace ocelot::vm {

enum class Requested { unset, container, vm };

// Keeps the config.json it reads in o.config_text, so that create does not read it twice.
std::unique_ptr<runtime::Isolation> isolation_for_bundle(const runtime::Globals& g, Requested requested,
                                                         runtime::CreateOptions& o);
// Unknown ids get the container isolation, whose answer is runc's "container does not exist".
std::unique_ptr<runtime::Isolation> isolation_for_container(const runtime::Globals& g, const std::string& id);

}  // namespace ocelot::vm
