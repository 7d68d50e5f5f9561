// Which file descriptors the caller really handed us. `--preserve-fds N` and LISTEN_FDS name fds
// 3..3+N-1; they may only reach the workload if they were open when ocelot started, before it
// opened anything of its own (its log file, sockets, memfds could otherwise land in that range and
// leak into the container). record_inherited_fds() is the first thing main() does.
#pragma once

#include "base/error.h"

namespace ocelot::runtime {

void record_inherited_fds();
bool fd_was_inherited(int fd);
// --preserve-fds N plus LISTEN_FDS (counted only when LISTEN_PID is our pid, as systemd's
// sd_listen_fds(3) and runc do): how many fds from 3 up go to the workload. An fd in that range
// that the caller did not pass is an error, not one of ours passed on.
Result<int> fds_to_pass(int preserve_fds, bool honour_listen_fds, int* listen_fds);
// In the child, right before handing over: fds 3..3+n-1 stay open across execve, every other fd
// above stdio is marked close-on-exec (CVE-2024-21626: no runtime fd reaches the workload).
Status mark_fds_for_exec_in_child(int n);

}  // namespace ocelot::runtime
