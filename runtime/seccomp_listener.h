// runtime-spec "seccomp notify": the listener named by linux.seccomp.listenerPath gets the
// notify fd with a JSON message (ociVersion, fds, pid, metadata, state), one SCM_RIGHTS message
// on a unix stream socket. Used by create (the init's filter) and exec (the new process's).
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "spec/config.h"
#include "spec/state.h"

namespace ocelot::runtime {

Status send_to_seccomp_listener(const spec::Seccomp& sc, int notify_fd, pid_t pid, const spec::State& state);

}  // namespace ocelot::runtime
