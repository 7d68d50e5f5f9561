// The sync channel between the runtime (parent) and the process it cloned: the container init,
// or a process that `exec` starts. A SOCK_SEQPACKET socketpair, close-on-exec on both ends, so an
// execve on the child's side is seen by the parent as end-of-stream.
//
// Each step of the handshake (docs/handshake.md) is a named pair of calls, one per side, with
// the same `sync N` comment at both call sites:
//
//   parent                                   child (init or exec'd process)
//   send_go(pid)                        ->   wait_go()                    sync 2 (user ns, exec)
//   send_cgroup_joined(pid)             ->   wait_cgroup_joined()         sync 2b
//   wait_for_child(): mounts_ready      <-   send_mounts_ready()          sync 3
//   send_hooks_done()                   ->   wait_hooks_done()            sync 3
//   wait_for_child(): seccomp fd        <-   send_seccomp_fd(fd)          (notify filters)
//   wait_for_child(): execing           <-   send_execing()               exec: right before execve
//   wait_for_child(): ready             <-   the init stub's ready        sync 4
//   wait_for_child(): {errno, message}  <-   send_error(e)                any step
//
// A message the receiver does not expect at that step is an error naming both; a payload never
// gets cut short (the receiver sizes its buffer from the message itself).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::runtime {

enum class Msg : uint32_t {
  go = 1,             // parent -> child: id maps written; payload: the child's pid on the host
  mounts_ready = 2,   // child -> parent: mounts done; run the prestart/createRuntime hooks
  hooks_done = 3,     // parent -> child: those hooks ran
  ready = 4,          // init stub -> parent: set up, blocked on exec.fifo until `start`
  error = 5,          // child -> parent: {errno, message}
  cgroup_joined = 6,  // parent -> child: in every cgroup now
  seccomp_fd = 7,     // child -> parent: the seccomp notify fd rides along (SCM_RIGHTS)
  execing = 8,        // exec'd process -> parent: set up, calling execve now (end-of-stream then
                      // means it exec'd; end-of-stream before it means it died during setup)
};
const char* msg_name(Msg m);

// The wire header, shared with the init stub (runtime/init_stub/init_stub.c writes `ready`).
struct MsgHeader {
  uint32_t type;
  int32_t err;
  uint32_t len;
};

// What the parent can get while it waits on the child.
struct ChildEvent {
  enum Kind { mounts_ready, seccomp_fd, ready, execing, exited } kind;
  UniqueFd fd;  // seccomp_fd
};

class SyncChannel {
 public:
  explicit SyncChannel(int fd) : fd_(fd) {}
  int fd() const { return fd_; }

  // parent side
  Status send_go(pid_t host_pid);
  Status send_cgroup_joined(pid_t host_pid);
  Status send_hooks_done();
  // The next thing the child says: an Error for its {errno, message}, `exited` at end-of-stream
  // (the child exec'd or died), or one of the events.
  Result<ChildEvent> wait_for_child();
  // An error the child already reported and the parent has not read yet (non-blocking): what a
  // parent-side failure after the child died should say instead of its own "broken pipe".
  std::optional<Error> reported_error();

  // child side (after clone: no exceptions; failures come back as Error)
  Result<pid_t> wait_go();
  Result<pid_t> wait_cgroup_joined();
  Status send_mounts_ready();
  Status wait_hooks_done();
  Status send_seccomp_fd(int fd);
  Status send_execing();
  Status send_error(const Error& e) noexcept;

 private:
  Status send(Msg m, int32_t err = 0, std::string_view payload = {}) noexcept;
  struct Received {
    Msg type{};
    int32_t err = 0;
    std::string payload;
    UniqueFd fd;
    bool eof = false;
  };
  Result<Received> receive();
  Result<std::string> expect(Msg m);
  int fd_;
};

// Child side: report e to the parent and leave. Never returns.
[[noreturn]] void child_fail(int fd, const Error& e) noexcept;

}  // namespace ocelot::runtime
