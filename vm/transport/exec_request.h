// `ocelot exec` into a VM container: the exec options travel to the agent as one JSON line on the
// "ocelot.exec" port (vm/protocol.h). Pure (unit-tested).
#pragma once

#include <string>

#include "base/error.h"
#include "runtime/options.h"

namespace ocelot::vm {

// process_text: the content of --process (host file), "" when the exec gives args.
std::string encode_exec(const runtime::ExecOptions& o, const std::string& process_text);
// In the guest: the options, with a --process text written to process_path.
struct ExecRequest {
  runtime::ExecOptions options;
  std::string process_text;
};
Result<ExecRequest> decode_exec(const std::string& line);

}  // namespace ocelot::vm
