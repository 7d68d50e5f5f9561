// The isolation registry: every backend (runtime/backend.h) by the name the state records, and the
// one place a backend is chosen, as crun chooses its handler. create and run: --isolation (or the
// binary's name: ocelot-vm), else the bundle's annotation org.ocelot.isolation, else "container".
// Every other command: the backend that created the container. Adding a backend is its folder
// plus one line in registry.cc (tests/layering.sh finds backend folders from that file).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/lifecycle.h"

namespace ocelot::isolation {

inline constexpr const char* kAnnotation = "org.ocelot.isolation";

struct Entry {
  const char* name;     // recorded in the state; --isolation's value; the annotation's value
  const char* summary;  // for `features` and --help
  std::unique_ptr<runtime::Backend> (*make)(const runtime::Globals& g);
};
const std::vector<Entry>& backends();
const Entry* find(const std::string& name);

// requested: --isolation ("" when not given). Reads the bundle's config.json (kept in
// o.config_text, so that create does not read it twice) only to look for the annotation.
Result<std::unique_ptr<runtime::Lifecycle>> for_bundle(const runtime::Globals& g, const std::string& requested,
                                                       runtime::CreateOptions& o);
// Unknown ids get the container backend, whose answer is runc's "container does not exist".
Result<std::unique_ptr<runtime::Lifecycle>> for_container(const runtime::Globals& g, const std::string& id);

}  // namespace ocelot::isolation
