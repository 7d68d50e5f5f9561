// Typed messages on the SOCK_SEQPACKET socket between the runtime (parent) and the process it
// cloned (container init or exec'd process). Each side's calls carry the numbered step of
// docs/handshake.md. After clone() the child reports failures as {errno, step} here and exits;
// only the parent turns them into an Error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace ocelot::runtime {

enum class Msg : uint32_t {
  go = 1,           // parent -> child: id maps written; go on (payload: state JSON)
  mounts_ready = 2, // child -> parent: mounts done, run prestart/createRuntime hooks
  hooks_done = 3,   // parent -> child: hooks ran; payload: state JSON for createContainer hooks
  ready = 4,        // child -> parent: blocked before exec, waiting for start
  error = 5,        // child -> parent: {errno, message}
  cgroup_joined = 6,  // parent -> child: in every cgroup now; make the cgroup namespace
  seccomp_fd = 7,     // child -> parent: the seccomp notify fd follows in an SCM_RIGHTS message
};

struct Message {
  Msg type{};
  int32_t err = 0;
  std::string payload;
};

Status send_msg(int fd, Msg type, int32_t err = 0, std::string_view payload = {}) noexcept;
// EOF (the other side exited or exec'd) is an Error with code 0 and msg "eof".
Result<Message> recv_msg(int fd);
// Child side: send {errno, message} and leave. Never returns.
[[noreturn]] void child_fail(int fd, const Error& e) noexcept;

}  // namespace ocelot::runtime
