// The guest's side of a VM container's network (vm/vmm/network.h is the host's): the guest's
// virtio-net NICs, in their order, become the host namespace's interfaces: name, MAC, MTU,
// addresses and routes as the plan gives them. They are moved into a network namespace of the
// container's (not the guest's own, the agent's: the runtime refuses to write net.* sysctls
// into its own namespace, as runc refuses the host's), which the config then joins by path
// (share_guest_netns).
#pragma once

#include <vector>

#include "base/error.h"
#include "vm/share/guest_config.h"

namespace ocelot::vm {

// In the guest's PID 1: the NICs moved into the network namespace pinned at netns_path, then each
// configured and up there.
Status configure_guest_network(const std::vector<GuestNic>& nics, const std::string& netns_path);

}  // namespace ocelot::vm
