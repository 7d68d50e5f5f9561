// What the guest runs: the bundle's config.json rewritten for the guest, and the host directories
// shared into it over virtio-9p. Pure (unit-tested): no kernel, no files.
//
// The guest sees host paths only through 9p shares, so the planner:
//   - shares the rootfs as tag "rootfs" (read-only when root.readonly) and points root.path at it;
//   - shares every bind mount's source (its directory, or the parent directory of a file source)
//     as tag "m<N>", read-only when the mount says ro, and points the mount's source at it;
//   - drops namespace paths (a host /proc/PID/ns/* or /run/netns/* file means nothing in the guest:
//     the container gets new namespaces there), each with a warning, except the network
//     namespace's: it is kept as host_netns, whose interfaces the guest gets;
//   - drops hooks (host programs: run on the host by the backend);
//   - keeps every other field as the bundle wrote it, unknown ones included.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace ocelot::vm {

// Where the agent mounts the shares and writes the rewritten bundle.
inline constexpr const char* kGuestBase = "/run/ocelot-vm";

struct Share {
  std::string tag;         // 9p mount_tag
  std::string host_path;   // directory shared by QEMU
  std::string guest_path;  // where the agent mounts it
  bool readonly = false;
};

// One network interface of the namespace the config names, as the guest's NIC gets it (the agent
// configures it: vm/agent/agent_network.h). Addresses and routes in text ("169.254.1.2/30").
struct GuestRoute {
  std::string dst;      // "addr/len"; "0.0.0.0/0" or "::/0" for a default route
  std::string gateway;  // "" for a route on the link
  uint32_t metric = 0;
};
struct GuestNic {
  std::string name, mac;
  unsigned mtu = 0;
  std::vector<std::string> addresses;
  std::vector<GuestRoute> routes;
};

struct GuestPlan {
  std::string config_json;  // config.json for the guest's bundle
  std::vector<Share> shares;
  std::vector<std::string> warnings;
  // The network namespace the config joins by path (host only: the host carries its interfaces
  // into the guest, vm/vmm/network.h), and those interfaces (sent to the agent).
  std::string host_netns;
  std::vector<GuestNic> nics;
  // Filled in by the host just before sending (not by plan_guest). A guest restored from a
  // template has the template's id, clock and random state: it takes these instead.
  std::string id;            // the container's id
  int64_t host_time_ns = 0;  // CLOCK_REALTIME on the host when the plan was sent
  std::string seed;          // random bytes (hex) the guest mixes into its RNG and reseeds with
};

// config_text: the bundle's config.json; bundle: its absolute directory (relative root.path and
// mount sources are resolved against it, as the runtime does). is_dir says whether a host path is a
// directory (injected so the planner stays pure).
Result<GuestPlan> plan_guest(const std::string& config_text, const std::string& bundle,
                             bool (*is_dir)(const std::string&));

// In the guest: the config with its new network namespace replaced by the spare one a VM
// template's agent made before the guest was saved (netns_path pins it). The same namespace for
// the workload: unused, only a loopback that is down. Not when the config joins a namespace by
// path, asks for none, or has a user namespace (a new network namespace would belong to that user
// namespace; the spare belongs to the guest's). Then, and on malformed JSON, the text unchanged.
std::string join_spare_netns(const std::string& config_json, const std::string& netns_path);

// In the guest: the config's network namespace joined by path to the guest's own (guest_netns:
// the agent's), which holds the NICs the host gave it. Joined rather than dropped: a config's
// net.* sysctls need a network namespace of the container's (podman sets
// net.ipv4.ping_group_range). Malformed JSON: the text unchanged.
std::string share_guest_netns(const std::string& config_json, const std::string& guest_netns);

// The message the host sends the agent: the shares to mount, then the config.
std::string encode_guest_plan(const GuestPlan& p);
Result<GuestPlan> decode_guest_plan(const std::string& text);

}  // namespace ocelot::vm
