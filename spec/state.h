// The container state as the runtime-spec defines it (runtime.md "State") and as runc prints it for
// `state` and `list`: ociVersion, id, pid, status, bundle, rootfs, created (RFC 3339, nanoseconds),
// owner, annotations. Pure data and JSON rendering.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "spec/status.h"

namespace ocelot::spec {

inline constexpr const char* kOciVersion = "1.2.0";

struct State {
  std::string oci_version = kOciVersion;
  std::string id;
  ContainerStatus status = ContainerStatus::creating;
  pid_t pid = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC
  std::string owner;
  std::map<std::string, std::string> annotations;
};

// `ocelot state` output: runc's field order, two-space indent.
std::string state_to_cli_json(const State& s);
// One compact object, as in `list --format json` (runc's field order).
std::string state_to_compact_json(const State& s);
// The runtime-spec state handed to hooks on stdin: ociVersion, id, status, pid, bundle, annotations.
std::string state_to_hook_json(const State& s);
// Go's time.RFC3339Nano of a UTC wall-clock time: trailing zeros of the fraction trimmed.
std::string rfc3339_nano(int64_t sec, long nsec);
std::string now_rfc3339_nano();

}  // namespace ocelot::spec
