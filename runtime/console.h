// The container's terminal: a pty opened inside the container (so it belongs to the container's
// devpts), its master sent to the caller's --console-socket in one SCM_RIGHTS message as runc does,
// its slave made the controlling terminal and stdio of the process.
#pragma once

#include <string>
#include <utility>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/config.h"

namespace ocelot::runtime {

// Connects to a unix stream socket (the console socket, or a seccomp listener).
Result<UniqueFd> connect_console_socket(const std::string& path);
Status send_fd(int sock, int fd, const std::string& name);
Result<UniqueFd> recv_fd(int sock);

// A pty of the host's devpts, for a process outside any container (the VMM opens its slave):
// the master and the slave's path.
Result<std::pair<UniqueFd, std::string>> open_host_pty();

// runc's rules for process.terminal and --console-socket, in its words: a terminal needs a console
// socket when ocelot detaches; a console socket needs a terminal.
Status check_console_options(bool terminal, bool has_console_socket, bool detached);

// Where the child sends the terminal's master: the caller's console socket, or (run, exec in the
// foreground) one end of a socketpair whose other end (peer) we read it from.
struct ConsoleChannel {
  UniqueFd to_child, peer;
};
Result<ConsoleChannel> open_console_channel(const std::string& console_socket);

struct Pty {
  UniqueFd master, slave;
  std::string slave_path;
};
Result<Pty> open_pty_in_child(const std::optional<spec::ConsoleSize>& size);
// setsid must have run: the slave becomes the controlling tty and fds 0, 1 and 2.
Status attach_pty_in_child(const Pty& p);

}  // namespace ocelot::runtime
