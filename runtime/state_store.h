// The state directory: <root>/<id>/ holds state.json (written atomically: temp file + rename),
// config.json (the config the container was created with, for exec, delete and poststop hooks) and,
// while the container is created but not started, exec.fifo. A flock on the directory serialises
// ocelot processes acting on one container. Container ids are checked before any path is built.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "cgroups/manager.h"
#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/state.h"

namespace ocelot::runtime {

// What ocelot keeps about a container between commands.
struct Stored {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start = 0;  // field 22 of /proc/PID/stat: tells a reused pid from ours
  std::string bundle, rootfs, created, owner;
  std::map<std::string, std::string> annotations;
  cgroups::Paths cgroup_paths;
  std::string isolation = "container";
};

Status validate_id(const std::string& id);
// "" when the process is gone (or the pid was reused).
Result<uint64_t> process_start_time(pid_t pid);
bool process_alive(pid_t pid, uint64_t start);

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
  Result<Stored> load(const std::string& id) const;
  Result<std::string> load_config_text(const std::string& id) const;
  Result<std::vector<std::string>> ids() const;
  Status remove(const std::string& id) const;

 private:
  std::string root_;
};

// created / running / paused / stopped, from the process, the fifo and the freezer.
std::string container_status(const StateStore& st, const Stored& s);
spec::State to_spec_state(const Stored& s, const std::string& status);

}  // namespace ocelot::runtime
