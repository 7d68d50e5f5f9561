// What the guest runs: the bundle's config.json rewritten for the guest, and the host directories
// shared into it over virtio-9p. Pure (unit-tested): no kernel, no files.
//
// The guest sees host paths only through 9p shares, so the planner:
//   - shares the rootfs as tag "rootfs" (read-only when root.readonly) and points root.path at it;
//   - shares every bind mount's source (its directory, or the parent directory of a file source)
//     as tag "m<N>", read-only when the mount says ro, and points the mount's source at it;
//   - drops namespace paths (a host /proc/PID/ns/* or /run/netns/* file means nothing in the guest:
//     the container gets new namespaces there) and hooks (host programs): each with a warning;
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

struct GuestPlan {
  std::string config_json;  // config.json for the guest's bundle
  std::vector<Share> shares;
  std::vector<std::string> warnings;
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

// The message the host sends the agent: the shares to mount, then the config.
std::string encode_guest_plan(const GuestPlan& p);
Result<GuestPlan> decode_guest_plan(const std::string& text);

}  // namespace ocelot::vm
