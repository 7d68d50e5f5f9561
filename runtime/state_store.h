// The state directory of one container, <root>/<id>/:
//   state.json        what later commands need, small (Stored below); written atomically (temp
//                     file + rename) at each step of create, so a create killed at any point
//                     leaves a container that `list` shows and `delete --force` removes
//   annotations.json  the config's annotations, read only by `state`, `list --format json` and hooks
//   config.json       the config without its annotations, read only by exec and by hooks
//   exec.fifo         while created: `start` writes one byte into it
//   hooks/<pid>       host hooks running now (pid and start time), so that a killed create's hooks
//                     can be found and stopped
// A flock on the directory serialises ocelot processes acting on one container. Ids are checked
// before any path is built.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cgroups/paths.h"
#include "spec/config.h"
#include "spec/state.h"
#include "spec/status.h"

namespace ocelot::runtime {

// A process identity that survives pid reuse: the pid and its start time (field 22 of stat).
struct ProcessRef {
  pid_t pid = 0;
  uint64_t start = 0;
  bool alive() const;
};
Result<ProcessRef> process_ref(pid_t pid);  // a zombie is not alive: ESRCH
Result<uint64_t> process_start(pid_t pid, bool zombies_too);

struct Stored {
  std::string id;
  spec::ContainerStatus phase = spec::ContainerStatus::creating;  // how far create got
  ProcessRef init;     // the container's init (the VMM in VM mode); pid 0 until cloned
  ProcessRef creator;  // the `create` that is (or was) building it
  std::string bundle, rootfs, created;
  std::string backend = "container";       // the isolation backend that made it (runtime/backend.h)
  std::string cgroup_driver = "cgroupfs";  // cgroups/driver.h
  cgroups::Paths cgroup_paths;
  bool cgroup_owned = true;              // create made the container's cgroup: delete may kill and remove it
  std::vector<std::string> cgroup_made;  // shared cgroup: the directories create added (removed at delete)
  bool own_pid_ns = true;                // killing the init ends every process of the container
  bool host_mount_ns = false;            // no mount namespace: the rootfs's mounts live in the host's
  bool has_poststart = false, has_poststop = false;
  std::string uid_map;  // the user namespace's uid_map text, "" without one
};

Status validate_id(const std::string& id);

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }

  // mkdir <root>/<id>: "container with id exists: ID" when taken. Returns the locked dir fd.
  Result<UniqueFd> create_dir(const std::string& id);
  // Locks an existing container: "container does not exist" when absent.
  Result<UniqueFd> lock(const std::string& id) const;
  Status save(const Stored& s) const;
  // A directory without state.json (a create killed before its first write) loads as a bare
  // `creating` container.
  Result<Stored> load(const std::string& id) const;
  Status save_config(const std::string& id, const std::string& config_without_annotations,
                     const std::map<std::string, std::string>& annotations) const;
  Result<spec::Config> load_config(const std::string& id) const;  // annotations included
  Result<std::map<std::string, std::string>> load_annotations(const std::string& id) const;
  Result<std::vector<std::string>> ids() const;
  Status remove(const std::string& id) const;

  // Host hooks in flight.
  void record_hook(const std::string& id, const ProcessRef& p) const;
  void forget_hook(const std::string& id, pid_t pid) const;
  void forget_hooks(const std::string& id) const;
  std::vector<ProcessRef> hooks(const std::string& id) const;
  // SIGKILL the process group of every recorded hook (what a killed create left running).
  void kill_hooks(const std::string& id) const;

 private:
  std::string root_;
};

// The state JSON of a container in this status (runc's `state`).
spec::State to_spec_state(const Stored& s, spec::ContainerStatus status,
                          std::map<std::string, std::string> annotations);

}  // namespace ocelot::runtime
