// A VM container's network: the interfaces of the network namespace its config names (the one
// podman, CNI or a test made, with a veth, its addresses and routes) carried into the guest.
//
// For each ethernet interface of that namespace ocelot makes a tap device there ("ocelot-tapN",
// not persistent: it goes when the VMM closes its fd) and joins the two with tc: an ingress qdisc
// on each and a u32 match-all filter redirecting every frame to the other's egress (Kata's
// "tcfilter" model). QEMU gets the tap's fd; the guest's virtio-net NIC has the interface's MAC,
// and the agent gives it the interface's name, MTU, addresses and routes. Traffic leaves and
// enters the namespace through the caller's interface exactly as a container's would; the
// namespace's own stack no longer sees the interface's frames (they are the guest's).
//
// What stays behind when the VMM is gone is the ingress qdisc on the caller's interface:
// detach_network removes it (undo of a failed create, delete).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vm/share/guest_config.h"

namespace ocelot::vm {

struct NetAttachment {
  std::vector<GuestNic> nics;       // what the agent configures, in the NICs' order
  std::vector<UniqueFd> taps;       // one per NIC, for QEMU's -netdev tap,fd=
  std::vector<std::string> joined;  // the namespace's interfaces that carry a redirect now
};

// In the network namespace at netns_path (entered by this thread and left again). An interface that
// already has an ingress qdisc (another VM container's, or the caller's own tc) is an error: its
// traffic cannot be given to two guests. On failure nothing made is left.
Result<NetAttachment> attach_network(const std::string& netns_path);

// Removes the ingress qdiscs from `joined` in the namespace at netns_path. A namespace or an
// interface that is gone already is not an error (the caller tore its network down first).
Status detach_network(const std::string& netns_path, const std::vector<std::string>& joined);

}  // namespace ocelot::vm
