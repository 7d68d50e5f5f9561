// An isolation backend: what differs between keeping a container's workload apart with Linux
// namespaces (runtime/container_backend.h) and inside a VM (vm/vm_backend.h), as crun's custom
// handlers differ from its default one. A backend starts the process that holds the container
// (the init, or the VMM) and brings it to `created`; starts it; execs into it; signals it; changes
// its limits; waits for it under `run`.
//
// Everything else is the one creation core and lifecycle every backend shares
// (runtime/lifecycle.h): the bundle, the state record, the cgroup through its driver, the undo of
// a failed create, the status checks, delete, state, ps, pause, resume and stats. A new backend is
// one folder with a Backend subclass and one line in isolation/registry.cc.
//
// A Backend object lives for one command: what it holds between the create steps is its own.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "cgroups/paths.h"
#include "runtime/bundle.h"
#include "runtime/options.h"
#include "runtime/state_store.h"
#include "spec/state.h"
#include "spec/status.h"

namespace ocelot::runtime {

class Backend;
class SignalBlock;

// What the creation core holds while one create builds a container, given to the backend at each
// step. A Creation destroyed before it is committed undoes what was made, in reverse: the process
// (child), what the backend made (Backend::undo), the cgroup (only what ocelot made), the state dir.
struct Creation {
  Creation(Backend& be, const Globals& g, const CreateOptions& o, LaunchMode mode, bool start_follows)
      : be(be), g(g), o(o), mode(mode), start_follows(start_follows), store(g.root) {}
  ~Creation();
  Creation(const Creation&) = delete;
  // A backend that had to replace its process (a boot's fallback) hands the new one over: it
  // becomes `child` and joins the container's cgroup.
  Status adopt(pid_t pid);
  Creation& operator=(const Creation&) = delete;

  Backend& be;
  const Globals& g;
  const CreateOptions& o;
  LaunchMode mode;
  bool start_follows;  // run: start comes right after, with the lock create holds
  Bundle b;
  StateStore store;
  UniqueFd lock;
  Stored rec;
  bool dir_made = false;
  cgroups::Layout layout;
  std::unique_ptr<cgroups::Manager> cg;
  cgroups::Paths shown;  // what the container's /sys/fs/cgroup shows (its own, or the caller's)
  pid_t child = 0;       // the process that holds the container (init, VMM), once spawned
  bool committed = false;
};

// The container's state while it is created: what the prestart and createRuntime hooks read on
// stdin (pid: the process that holds the container) and a seccomp listener gets with its fd.
spec::State creating_state(const Creation& c);
// The prestart (deprecated) and createRuntime hooks, on the host, with that state; each hook's
// process is recorded while it runs (a create killed meanwhile leaves it to delete --force).
Status run_create_hooks(Creation& c);

class Backend {
 public:
  virtual ~Backend() = default;
  // The name recorded in the state ("container", "vm"): later commands pick this backend by it.
  virtual std::string_view name() const = 0;

  // -- create, in the core's order (runtime/lifecycle.cc, create) --------------------------------
  // After the bundle is loaded and checked: the backend's own checks and plans (no state yet).
  virtual Status load(Creation& c) = 0;
  // After record 1 (state dir, cgroup placement, config saved): what must exist before the
  // process does (the created marker, sockets, fds).
  virtual Status prepare(Creation& c) = 0;
  // The process that holds the container. It must wait until the core has put it in its cgroup
  // (complete() says when it may go on). Its pid goes to c.child at once (the core undoes it).
  virtual Status spawn(Creation& c) = 0;
  // What the core writes into the container's host cgroup before the process joins it (nothing
  // when nullopt).
  virtual std::optional<spec::Resources> host_resources(const Creation& c) const = 0;
  // After the cgroup: bring the container to `created` (hooks, handshake, boot).
  virtual Status complete(Creation& c) = 0;
  // A step of the core's failed after spawn (joining the cgroup): the process may have stopped
  // first and said why; that is then the error to show.
  virtual Error why_failed(Creation& c, Error ours) noexcept = 0;
  // After `created` is recorded: what create hands back (terminal, channel).
  virtual Status hand_over(Creation& c, Launched& out) = 0;
  // What the backend made beyond the core's (hook processes, mounts in the host's namespace).
  virtual void undo(Creation& c) noexcept = 0;

  // -- the other commands ----------------------------------------------------------------------
  // `created` -> running; the container is locked. l: what create handed back (run), else null.
  virtual Status start(const StateStore& store, const Stored& s, Launched* l) = 0;
  // run: waits for the workload; its exit code (128+N when killed by signal N).
  virtual Result<int> wait(Launched& l, SignalBlock& signals) = 0;
  virtual Result<int> exec(const StateStore& store, const Stored& s, spec::ContainerStatus st,
                           const ExecOptions& o) = 0;
  virtual Status signal(const StateStore& store, const Stored& s, spec::ContainerStatus st, int sig, bool all) = 0;
  virtual Status update(const StateStore& store, const Stored& s, const spec::Resources& r) = 0;
  // delete, after the core has killed what is left and before it removes the cgroup and state.
  virtual void on_delete(const Stored& s) noexcept = 0;
};

}  // namespace ocelot::runtime
