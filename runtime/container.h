// The container lifecycle (runtime-spec runtime.md, runc's commands) as functions: what
// ContainerIsolation calls, and what the VM agent runs inside its guest. Each returns a Result;
// only cli/ prints. Messages callers match on are runc's: "container does not exist",
// "container not running", "container with id exists: ID".
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "cgroups/stats.h"
#include "runtime/options.h"
#include "spec/config.h"
#include "spec/state.h"

namespace ocelot::runtime {

// start_follows: `run`, which starts the container at once with the lock create hands back in
// Launched (no other ocelot process acts on the container in between).
Result<Launched> create_container(const Globals& g, const CreateOptions& o, LaunchMode mode,
                                  bool start_follows = false);
// held, known: that lock and the record create wrote, from create_container(..., start_follows
// = true): run's start and delete need not read the state back.
Status start_container(const Globals& g, const std::string& id, UniqueFd held = UniqueFd(),
                       const Stored* known = nullptr);
Result<int> run_container(const Globals& g, const CreateOptions& o, bool detach, bool keep);
Result<spec::State> container_state(const Globals& g, const std::string& id);
Status kill_container(const Globals& g, const std::string& id, int sig, bool all);
Status delete_container(const Globals& g, const std::string& id, bool force, const Stored* known = nullptr);
Result<std::vector<pid_t>> container_pids(const Globals& g, const std::string& id);
Status pause_container(const Globals& g, const std::string& id);
Status resume_container(const Globals& g, const std::string& id);
Status update_container(const Globals& g, const std::string& id, const spec::Resources& r);
Result<cgroups::Stats> container_stats(const Globals& g, const std::string& id);
Result<int> exec_in_container(const Globals& g, const ExecOptions& o);
// The process exec runs: --process, or the container's own with the flags applied (pure).
Result<spec::Process> exec_process_spec(const ExecOptions& o, const spec::Config& cfg);

}  // namespace ocelot::runtime
