// The container init: the process create clones. It sets itself up inside its namespaces (the
// numbered steps of docs/handshake.md, shared with runtime/create_handshake.cc), then becomes the
// init stub (runtime/init_stub/init_stub.c), which reports "ready" and waits for `start`.
// Everything here runs in the child after clone(): failures go to the parent as {errno, message}.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "namespaces/plan.h"
#include "namespaces/rootfs.h"
#include "runtime/seccomp.h"
#include "spec/config.h"

namespace ocelot::runtime {

struct InitArgs {
  const spec::Config* config = nullptr;
  const ns::NsPlan* ns = nullptr;
  std::vector<std::pair<int, int>> joins;  // (CLONE_NEW*, fd) to setns, in order
  std::string id, bundle;
  int sync_fd = -1;         // our end of the sync socket
  int parent_sync_fd = -1;  // the parent's end, closed first thing
  int lock_fd = -1;         // the state dir's flock: ours would keep it locked
  int fifo_fd = -1;         // exec.fifo, opened O_RDWR by the parent
  int console_fd = -1;      // console socket (the caller's or our own socketpair), -1 if none
  int stub_fd = -1;         // sealed memfd of the init stub
  int bpf_fd = -1;          // the compiled seccomp program, for the stub (-1: none, or notify)
  int pass_fds = 0;         // fds 3.. kept open across exec (LISTEN_FDS + --preserve-fds)
  int listen_fds = 0;
  bool no_new_keyring = false;
  bool sync_hooks = false;                 // stop at mounts_ready for prestart/createRuntime/createContainer
  bool apparmor = false, selinux = false;  // the LSM is enabled on this host
  ns::RootfsParams rootfs;
  const SeccompFilter* seccomp = nullptr;
};

[[noreturn]] void init_process_main(const InitArgs& a) noexcept;

// Shared with exec.
std::vector<std::string> build_env(const spec::Process& p, int listen_fds);
void reset_signals_in_child() noexcept;

}  // namespace ocelot::runtime
