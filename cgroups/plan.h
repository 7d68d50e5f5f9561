// linux.resources -> the cgroup files to write, for v1 and for v2, as plain data. Each write is
// tagged with the controller it belongs to, so a hybrid host can take every controller's writes from
// the hierarchy that holds it. Unit-tested without a kernel.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace ocelot::cgroups {

struct FileWrite {
  std::string controller;  // "memory", "cpu", "cpuset", ... ("" for raw unified keys)
  std::string file;        // "memory.limit_in_bytes"
  std::string value;
  bool optional = false;  // skip with a warning when the file does not exist (kernel built without it)
  bool raw = false;       // from linux.resources.unified
};

struct Plan {
  std::vector<FileWrite> writes;
  std::vector<std::string> warnings;  // fields ignored with a reason, e.g. kernel memory
};

Result<Plan> plan_v1(const spec::Resources& r);
Result<Plan> plan_v2(const spec::Resources& r);

// The part of r whose controllers keep() accepts (blockIO is "blkio" in v1 and "io" in v2: kept
// when either name is accepted; cpu.cpus/mems belong to "cpuset"). devices and unified are copied
// as they are.
spec::Resources select_controllers(const spec::Resources& r, const std::function<bool(const std::string&)>& keep);

// linux.devices nodes are allowed in the device cgroup too (runc): one rwm rule each.
std::vector<spec::DeviceCgroup> device_node_rules(const std::vector<spec::Device>& devices);

// Conversions used by the v2 plan (and `update` flags).
uint64_t cpu_shares_to_weight(uint64_t shares);  // runc >= 1.3 / crun >= 1.23 formula
uint64_t blkio_weight_to_io_weight(uint64_t w);
// "2MB" page size as in spec -> the name cgroup files use ("2MB", "1GB").
std::string hugepage_file_size(const std::string& page_size);

// The device-cgroup rules every container gets on top of linux.resources.devices, as runc does:
// mknod of anything, and the default devices of config-linux.md.
std::vector<spec::DeviceCgroup> default_allowed_devices();
std::string v1_device_rule(const spec::DeviceCgroup& d);  // "c 1:3 rwm"

}  // namespace ocelot::cgroups
