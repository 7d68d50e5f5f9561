// The C++ side of the init stub (runtime/init_stub/init_stub.c, which says what it is for): its
// bytes in a sealed memfd, and the argv that tells it what to do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/config.h"

namespace ocelot::runtime {

// A sealed (write-proof) memfd holding the stub; close-on-exec.
Result<UniqueFd> make_init_stub();

struct StubPlan {
  int sync_fd = -1, fifo_fd = -1, bpf_fd = -1, state_fd = -1;
  unsigned bpf_flags = 0;
  uint64_t temp_caps = 0, final_bounding = 0, final_inheritable = 0, final_ambient = 0;
  std::string apparmor, selinux;  // only when the LSM is enabled
  int attr_dir_fd = -1;           // the init's own attr directory in its procfs (runtime/lsm.h)
  const std::vector<spec::Hook>* start_hooks = nullptr;
  std::string exe;                // resolved in the container
  std::vector<std::string> args;  // the workload's argv
};
// Pure: unit-tested against the stub's parser.
std::vector<std::string> init_stub_argv(const StubPlan& p);

}  // namespace ocelot::runtime
