// The config.json that `ocelot spec` writes: runc's default (same mounts, capabilities, masked and
// read-only paths, rlimit) with ociVersion 1.2.0 and hostname "ocelot". With rootless=true it is
// runc's rootless variant: a user namespace mapping the caller's ids to root, no network namespace,
// /sys bind-mounted, no device cgroup rules.
#pragma once

#include <sys/types.h>

#include <string>

namespace ocelot::spec {

std::string default_spec_json(bool rootless, uid_t uid, gid_t gid);

}  // namespace ocelot::spec
