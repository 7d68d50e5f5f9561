// The host's end of the agent's control ports (vm/protocol.h): unix sockets that QEMU serves.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::vm {

// Connects to <dir>/<name>; works for directories longer than sun_path allows.
Result<UniqueFd> connect_socket(const std::string& dir, const std::string& name);
// One line without its '\n'. timeout_ms < 0: no limit. Stops early, with "", on EOF, on timeout,
// or when the process `watch` (if > 0, our child) has exited.
std::string read_line(int fd, int timeout_ms, pid_t watch);
Status send_line(int fd, const std::string& line);

}  // namespace ocelot::vm
