// The container lifecycle (runtime-spec runtime.md, runc's commands), one for every isolation
// backend (runtime/backend.h): create's core (bundle, state record, cgroup through its driver,
// undo), then start, run, exec, kill, delete, state, ps, pause, resume, update and stats, each
// reading the state directory, checking the operation against the container's status
// (spec/status.h) and acting through the backend or on the cgroup. Each returns a Result; only
// cli/ prints. Messages callers match on are runc's: "container does not exist", "container not
// running", "container with id exists: ID".
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "cgroups/driver.h"
#include "cgroups/manager.h"
#include "cgroups/stats.h"
#include "runtime/backend.h"
#include "runtime/criu.h"
#include "runtime/options.h"
#include "spec/config.h"
#include "spec/state.h"

namespace ocelot::runtime {

class Lifecycle {
 public:
  Lifecycle(Globals g, std::unique_ptr<Backend> be) : g_(std::move(g)), be_(std::move(be)), store_(g_.root) {}
  Backend& backend() { return *be_; }

  Status create(const CreateOptions& o);
  Status start(const std::string& id);
  // create + start + wait (+ delete unless keep); the workload's exit code.
  Result<int> run(const CreateOptions& o, bool detach, bool keep);
  Result<int> exec(const ExecOptions& o);
  Status kill(const std::string& id, int sig, bool all);
  Status remove(const std::string& id, bool force);
  Result<spec::State> state(const std::string& id);
  Result<std::vector<pid_t>> pids(const std::string& id);
  Status pause(const std::string& id);
  Status resume(const std::string& id);
  Status update(const std::string& id, const spec::Resources& r);
  Result<cgroups::Stats> stats(const std::string& id);
  // CRIU dumps the running (or paused) container into o.image_path; unless it leaves it running
  // (--leave-running, --pre-dump) the container is then deleted, as runc does. A failed dump
  // leaves it running and unchanged.
  Status checkpoint(const std::string& id, const CriuOptions& o);
  // A container made from the bundle and a checkpoint: state, cgroup and config as create makes
  // them, its processes restored by CRIU (running). Detached, it returns at once; otherwise it waits
  // for the workload as `run` does and returns its exit code. A failed restore leaves nothing.
  Result<int> restore(const CreateOptions& o, const CriuOptions& c, bool detach);

  // create's core; start_follows: `run` starts it at once with the lock and record handed back.
  Result<Launched> create_for(const CreateOptions& o, LaunchMode mode, bool start_follows);
  // held, l: the lock and what create handed back (run), so nothing is read back.
  Status start_locked(const std::string& id, UniqueFd held, Launched* l);
  Status remove_known(const std::string& id, bool force, const Stored* known);

 private:
  Globals g_;
  std::unique_ptr<Backend> be_;
  StateStore store_;
};

// Every container under the root, whatever its backend (list).
Result<std::vector<spec::State>> list_containers(const Globals& g, bool with_annotations);

// What a cgroup driver needs from the runtime: the systemd helper beside this binary, the unit's
// description.
cgroups::DriverOptions driver_options(const std::string& id);
// The container's cgroup manager, through the driver create recorded (cgroups/driver.h).
Result<std::unique_ptr<cgroups::Manager>> manager_for(const Stored& s);
bool has_cgroup(const Stored& s);
// "cannot <what> container ID: it has no cgroup of its own" when it has none (rootless).
Status need_cgroup(const Stored& s, const char* what);
// The container's processes: in its own cgroup all of them; in a shared one, or without one,
// only those in its own pid namespace (never a process ocelot did not start).
Result<std::vector<pid_t>> container_processes(const Stored& s, cgroups::Manager& m);
// Every process of the container gets sig (frozen around it when it is SIGKILL, as runc).
Status signal_all(const Stored& s, cgroups::Manager& m, int sig);
// sig to the recorded init (or VMM), only if it is still that process (pidfd).
Status signal_init(const Stored& s, int sig);

}  // namespace ocelot::runtime
