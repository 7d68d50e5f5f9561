// A VMM process (QEMU today): started the same way for a container's guest, a guest restored
// from a template and a template being built. Its stdio is /dev/null in and a log file out; fds
// the caller passes land at fixed numbers (3 and 4: the workload's stdout and stderr; 5: a saved
// device state to restore); it runs in its own session in the directory its sockets are in. It
// can be held before its execve until the caller has put it where it belongs (the container's
// cgroup), and it is killed and reaped when its owner lets go of it without taking it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vm/vmm/jail.h"

namespace ocelot::vm {

struct VmmSpawn {
  std::vector<std::string> argv;         // argv[0] is the VMM binary (absolute)
  std::vector<std::string> env;          // its environment
  std::string dir;                       // its working directory (its sockets are relative to it)
  std::string log_path;                  // its stdout and stderr
  std::vector<std::pair<int, int>> fds;  // (our fd, the number it gets in the VMM)
  bool die_with_parent = false;          // `run`: nothing may outlive a foreground run
  bool hold = false;                     // wait for release() before execve
  std::optional<VmmJail> jail;           // vm/vmm/jail.h: made in the child before execve
};

class VmmProcess {
 public:
  VmmProcess() = default;
  static Result<VmmProcess> spawn(const VmmSpawn& how);
  // A VMM started by another process (a pool's spare, vm/pool/pool.h), watched through its pidfd:
  // never killed or reaped by this object (its parent reaps it).
  static VmmProcess adopt(pid_t pid, UniqueFd pidfd, std::string dir, std::string log_path);
  VmmProcess(VmmProcess&& o) noexcept { *this = std::move(o); }
  VmmProcess& operator=(VmmProcess&& o) noexcept;
  ~VmmProcess() { kill(); }

  pid_t pid() const { return pid_; }
  // The pid a wait may reap to learn that it exited (0 for an adopted VMM: not our child).
  pid_t child_pid() const { return pidfd_.valid() ? 0 : pid_; }
  // A held VMM goes on to its execve.
  Status release();
  // Connects to <dir>/<name> once the VMM serves it. ETIMEDOUT names `step`; a VMM that exits
  // first is EPIPE with the first line of its log.
  Result<UniqueFd> connect(const std::string& name, int timeout_ms, const std::string& step);
  // EPIPE "<what>: <the log's first line>".
  Error failure(const std::string& what) const;
  // The VMM's log, as far as it was written.
  std::string log() const;
  // Has it exited (reaped now, or by someone else before)? Then nothing is left to kill.
  bool exited();
  // SIGKILL and reap, unless it was handed to the container.
  void kill() noexcept;
  // It holds a container now (the creation core kills it on a failed create, delete later): this
  // object keeps watching and releasing it, but never kills it.
  pid_t hand_to_container() {
    owned_ = false;
    return pid_;
  }

 private:
  pid_t pid_ = 0;
  bool owned_ = true;
  std::string dir_, log_path_;
  UniqueFd release_;  // the held child's end waits on the other
  UniqueFd pidfd_;    // an adopted VMM's
};

// Does the VMM's log say that KVM itself failed (not the guest, not the host's load)? QEMU's own
// words, on a host where /dev/kvm opens but cannot run this guest (nested virtualisation):
// "failed to set MSR", "KVM internal error", "kvm run failed", "KVM_CREATE_VM". Pure.
bool kvm_failed_in_log(const std::string& log);

}  // namespace ocelot::vm
