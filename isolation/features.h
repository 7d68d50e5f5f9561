// `ocelot features` (runtime-spec features.md): what this build and this host really do, gathered
// from every layer; only cli/ prints it.
#pragma once

#include <string>

namespace ocelot::isolation {

// The features document, as JSON text (indented). criu_flag: --criu, for the checkpoint line.
std::string features_json(const std::string& criu_flag = "");

}  // namespace ocelot::isolation
