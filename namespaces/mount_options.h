// mounts[].options -> what mount(2) and mount_setattr(2) need, as plain data: flags to set and to
// clear, propagation, recursive attributes (rro, rnosuid, ...), and the leftover fs-specific data
// string ("mode=755,size=65536k"). Pure: unit-tested without a kernel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::ns {

struct MountOptions {
  unsigned long flags = 0;        // MS_* to set
  unsigned long clear = 0;        // MS_* explicitly cleared (rw, suid, ...)
  unsigned long propagation = 0;  // MS_SHARED|MS_REC, ...; 0 when unset
  uint64_t attr_set = 0;          // MOUNT_ATTR_* applied recursively (r-options)
  uint64_t attr_clr = 0;
  bool bind = false, recursive_bind = false, tmpcopyup = false, idmap = false;
  std::string data;  // comma-joined unknown options
};

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options);
bool is_bind_mount(const spec::Mount& m, const MountOptions& o);
// Every option word parse_mount_options knows, for `features`.
std::vector<std::string> known_mount_options();

}  // namespace ocelot::ns
