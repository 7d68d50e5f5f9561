// The container lifecycle as the CLI sees it (runtime-spec runtime.md, runc's commands):
// create, start, run, state, list, kill, delete, exec, ps, pause, resume, update. Each returns a
// Result; only cli/ prints. Messages callers match on are runc's: "container does not exist",
// "container not running", "container with id exists: ID".
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/config.h"
#include "spec/state.h"

namespace ocelot::runtime {

struct Globals {
  std::string root = "/run/ocelot";
  bool systemd_cgroup = false;
  std::string rootless = "auto";
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

enum class LaunchMode {
  detached,    // create, run -d: a terminal needs --console-socket
  foreground,  // run: a terminal without --console-socket is proxied by us
};

struct Launched {
  pid_t pid = 0;
  UniqueFd console_master;  // foreground with terminal and no console socket
};

Result<Launched> create_container(const Globals& g, const CreateOptions& o, LaunchMode mode);
Status start_container(const Globals& g, const std::string& id);
// create + start + wait; returns the workload's exit code (128+N when killed by signal N).
Result<int> run_container(const Globals& g, const CreateOptions& o, bool detach, bool keep);
Result<spec::State> container_state(const Globals& g, const std::string& id);
Result<std::vector<spec::State>> list_containers(const Globals& g);
Status kill_container(const Globals& g, const std::string& id, int sig, bool all);
Status delete_container(const Globals& g, const std::string& id, bool force);
Result<std::vector<pid_t>> container_pids(const Globals& g, const std::string& id);
Status pause_container(const Globals& g, const std::string& id);
Status resume_container(const Globals& g, const std::string& id);
Status update_container(const Globals& g, const std::string& id, const spec::Resources& r);

struct ExecOptions {
  std::string id;
  std::string process_file;          // --process
  std::vector<std::string> args;
  std::vector<std::string> env;      // -e, appended (overriding same keys)
  std::string cwd;
  std::string user;                  // "uid[:gid]"
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;     // --cap, added to every set
  bool tty = false, tty_set = false;
  bool detach = false;
  bool no_new_privs = false;
  bool ignore_paused = false;
  std::string console_socket, pid_file, apparmor, process_label;
  int preserve_fds = 0;
};
Result<int> exec_in_container(const Globals& g, const ExecOptions& o);

}  // namespace ocelot::runtime
