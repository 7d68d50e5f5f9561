// The network namespace the runtime creates: what runc does in one it made (its "loopback"
// strategy), and nothing else. A server in a container listens on 127.0.0.1 and its healthcheck
// connects there: with `lo` down both fail. Namespaces joined by path are the caller's (CNI,
// podman's netavark, a pod's): untouched.
#pragma once

#include <functional>
#include <string>

#include "base/error.h"

namespace ocelot::ns {

// Runs f with the calling thread in the network namespace at path, then returns the thread to
// its own namespace (sockets f opened stay in the one they were opened in). Fails without
// running f when the namespace cannot be entered.
Status in_network_namespace(const std::string& path, const std::function<Status()>& f);

// Brings `lo` up in the caller's network namespace (SIOCSIFFLAGS on an AF_INET socket).
Status loopback_up_in_child();

}  // namespace ocelot::ns
