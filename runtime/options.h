// What the CLI hands the runtime: global options and each command's options, as plain data.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace ocelot::runtime {

struct Globals {
  std::string root = "/run/ocelot";
  bool systemd_cgroup = false;
  std::string rootless = "auto";  // auto | true | false
  std::string vm_kernel;          // --vm-kernel (VM isolation)
  bool vm_template = true;        // --vm-template=off forces a cold boot (VM isolation)
  unsigned vm_pool = 1;           // --vm-pool: warmed spares kept per VM size class (0: off)
  int vm_pool_idle_s = 300;       // --vm-pool-idle: an unclaimed spare stops after this long
  std::string criu;               // --criu: the criu binary ("" = look for it)
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  std::string config_text;  // the bundle's config.json if already read (isolation choice), else ""
};

enum class LaunchMode {
  detached,    // create, run -d: a terminal needs --console-socket
  foreground,  // run: a terminal without --console-socket is proxied by us
};

struct Stored;  // runtime/state_store.h

// What create hands back: to run's start and wait, and to the CLI.
struct Launched {
  pid_t pid = 0;
  UniqueFd console_master;               // foreground with terminal and no console socket
  UniqueFd channel;                      // a backend's own line to what it started (a VM's control port)
  UniqueFd lock;                         // the container's lock, still held when a start follows (run)
  std::shared_ptr<const Stored> record;  // what create recorded, when a start follows (run)
};

struct ExecOptions {
  std::string id;
  std::string process_file;  // --process
  std::vector<std::string> args;
  std::vector<std::string> env;  // -e, appended (overriding same keys)
  std::string cwd;
  std::string user;  // "uid[:gid]"
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;  // --cap, added to every set
  bool tty = false, tty_set = false;
  bool detach = false;
  bool no_new_privs = false;
  bool ignore_paused = false;
  std::string console_socket, pid_file, apparmor, process_label;
  int preserve_fds = 0;
  // Not a flag: an fd the exec'd process's pid is written to (decimal) once it runs, before exec
  // waits for it. The VM agent learns this way that a guest exec started (vm/agent).
  int started_fd = -1;
};

}  // namespace ocelot::runtime
