// The network namespace the runtime creates: what runc does in one it made (its "loopback"
// strategy), and nothing else. A server in a container listens on 127.0.0.1 and its healthcheck
// connects there: with `lo` down both fail. Namespaces joined by path are the caller's (CNI,
// podman's netavark, a pod's): untouched.
#pragma once

#include "base/error.h"

namespace ocelot::ns {

// Brings `lo` up in the caller's network namespace (SIOCSIFFLAGS on an AF_INET socket).
Status loopback_up_in_child();

}  // namespace ocelot::ns
