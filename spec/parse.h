// Parsing of config.json, of a lone process (exec --process) and of a resources object
// (update --resources). Unknown fields are ignored as the runtime-spec requires; a wrong type or a
// missing required field names the JSON path; malformed JSON names the byte offset.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::spec {

Result<Config> parse_config(std::string_view text);
// The same, also handing back the config text without its annotations (what create stores for
// later commands, which then need not read the annotations again).
Result<Config> parse_config(std::string_view text, std::string& without_annotations);
// Largest config.json ocelot reads (docs/errors.md): a bigger one is refused, not parsed.
inline constexpr size_t kMaxConfigBytes = 16u << 20;
// Reads <bundle>/config.json; messages start with "config.json: ".
Result<Config> load_config(const std::string& bundle);
Result<Process> parse_process(std::string_view text);
Result<Resources> parse_resources(std::string_view text);

}  // namespace ocelot::spec
