// The container init: the process create clones, which sets itself up inside its namespaces and
// blocks on exec.fifo until `start`. Everything here runs in the child (see docs/handshake.md for
// the numbered steps both sides share).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "namespaces/rootfs.h"
#include "runtime/seccomp.h"
#include "spec/config.h"

namespace ocelot::runtime {

struct InitArgs {
  const spec::Config* config = nullptr;
  std::string id;
  std::string bundle;
  int sync_fd = -1;         // our end of the sync socket
  int parent_sync_fd = -1;  // the parent's end, closed first thing
  int lock_fd = -1;         // the state dir's flock: ours would keep it locked
  int fifo_fd = -1;         // exec.fifo, opened O_RDWR by the parent
  int console_fd = -1;      // console socket (the caller's or our own socketpair), -1 if none
  int preserve_fds = 0;     // fds 3.. kept open across exec (LISTEN_FDS + --preserve-fds)
  int listen_fds = 0;
  int trampoline_fd = -1;   // sealed memfd of the exec trampoline (CVE-2019-5736)
  bool new_userns = false;
  bool no_new_keyring = false;
  int unshare_flags = 0;                       // namespaces the child creates itself
  std::vector<std::pair<int, int>> join;       // (fd, CLONE_NEW*) to setns, user first
  bool sync_hooks = false;                     // stop at mounts_ready for prestart/createRuntime/createContainer
  ns::RootfsParams rootfs;
  const SeccompFilter* seccomp = nullptr;
};

[[noreturn]] void init_process_main(const InitArgs& a) noexcept;

// Shared with exec: env with LISTEN_FDS, fd hygiene before execve, signal reset.
std::vector<std::string> build_env(const spec::Process& p, int listen_fds);
Status prepare_fds_for_exec_in_child(int preserve_fds);
void reset_signals_in_child() noexcept;

}  // namespace ocelot::runtime
