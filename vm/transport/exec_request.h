// `ocelot exec` into a VM container: the exec options travel to the agent as one JSON line on the
// session's exec port (vm/transport/protocol.h). Pure (unit-tested).
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
// Whether the exec'd process gets a terminal, as the runtime decides it: a --process file's
// "terminal", else --tty.
bool exec_wants_terminal(const runtime::ExecOptions& o, const std::string& process_text);

}  // namespace ocelot::vm
