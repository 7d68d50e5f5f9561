// Private to create: everything one create holds while it builds a container, and its undo.
// create.cc loads and prepares and records; create_handshake.cc clones the init and drives the
// handshake (docs/handshake.md). A Creation that is destroyed before it is committed undoes what
// it made, in reverse: the init, its hooks, the cgroup (only if ocelot made it), the mounts of a
// container without a mount namespace, the state dir.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "cgroups/manager.h"
#include "namespaces/join.h"
#include "namespaces/rootfs.h"
#include "runtime/bundle.h"
#include "runtime/options.h"
#include "runtime/seccomp.h"
#include "runtime/state_store.h"

namespace ocelot::runtime {

struct Creation {
  Creation(const Globals& g, const CreateOptions& o, LaunchMode mode) : g(g), o(o), mode(mode), store(g.root) {}
  ~Creation();
  Creation(const Creation&) = delete;
  Creation& operator=(const Creation&) = delete;

  const Globals& g;
  const CreateOptions& o;
  LaunchMode mode;
  Bundle b;
  StateStore store;
  UniqueFd lock;
  Stored rec;
  bool dir_made = false;
  std::unique_ptr<cgroups::Manager> cg;
  std::vector<ns::CgroupMount> cgroup_mounts;
  std::optional<SeccompFilter> filter;
  UniqueFd bpf, fifo, parent_sock, child_sock, console, console_peer, stub;
  ns::NsFds ns_fds;
  int pass_fds = 0, listen_fds = 0;
  pid_t child = 0;
  bool committed = false;
};

// create_handshake.cc: clone the init (sync 1), then sync 2 to 4.
Status spawn_init(Creation& c);
Status drive_init_handshake(Creation& c);

}  // namespace ocelot::runtime
