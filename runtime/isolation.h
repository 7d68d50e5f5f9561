// An isolation is how a container's workload is kept apart from the host: as a container (Linux
// namespaces and cgroups, runtime/container_isolation.cc) or inside a VM (vm/vm_isolation.cc).
// Both implement every lifecycle operation; the CLI chooses one per command (vm/select.h: the
// --isolation flag, the bundle's annotation or the ocelot-vm name for create and run; what create
// recorded for the rest) and then calls only this interface, like crun's custom handlers.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "cgroups/stats.h"
#include "runtime/options.h"
#include "runtime/state_store.h"
#include "spec/config.h"
#include "spec/state.h"

namespace ocelot::runtime {

class Isolation {
 public:
  virtual ~Isolation() = default;
  virtual IsolationKind kind() const = 0;
  virtual Status create(const CreateOptions& o) = 0;
  virtual Status start(const std::string& id) = 0;
  // create + start + wait; the workload's exit code (128+N when killed by signal N).
  virtual Result<int> run(const CreateOptions& o, bool detach, bool keep) = 0;
  virtual Result<int> exec(const ExecOptions& o) = 0;
  virtual Status kill(const std::string& id, int sig, bool all) = 0;
  virtual Status remove(const std::string& id, bool force) = 0;
  virtual Result<spec::State> state(const std::string& id) = 0;
  virtual Result<std::vector<pid_t>> pids(const std::string& id) = 0;
  virtual Status pause(const std::string& id) = 0;
  virtual Status resume(const std::string& id) = 0;
  virtual Status update(const std::string& id, const spec::Resources& r) = 0;
  virtual Result<cgroups::Stats> stats(const std::string& id) = 0;
};

std::unique_ptr<Isolation> make_container_isolation(const Globals& g);

// Every container under the root, whatever its isolation (list).
Result<std::vector<spec::State>> list_containers(const Globals& g, bool with_annotations);

}  // namespace ocelot::runtime
