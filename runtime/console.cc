#include "runtime/console.h"

#include "base/fd_passing.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace ocelot::runtime {

Result<UniqueFd> connect_console_socket(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::last("console socket: socket");
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return Error::make("console socket \"" + path + "\": path too long");
  std::memcpy(a.sun_path, path.c_str(), path.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return Error::last("connect to \"" + path + "\"");
  return s;
}

Status check_console_options(bool terminal, bool has_console_socket, bool detached) {
  if (terminal && !has_console_socket && detached)
    return Error::make("cannot allocate tty if ocelot will detach without setting console socket");
  if (!terminal && has_console_socket)
    return Error::make("cannot use console socket if ocelot will not detach or allocate tty");
  return ok();
}

Result<ConsoleChannel> open_console_channel(const std::string& console_socket) {
  ConsoleChannel c;
  if (!console_socket.empty()) {
    c.to_child = OCL_TRY(connect_console_socket(console_socket));
    return c;
  }
  int cv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) != 0) return Error::last("console socketpair");
  c.peer.reset(cv[0]);
  c.to_child.reset(cv[1]);
  return c;
}

Status send_fd(int sock, int fd, const std::string& name) {
  return send_with_fd(sock, name, fd, "send terminal to console socket");
}

Result<UniqueFd> recv_fd(int sock) {
  Received r = OCL_TRY(receive_with_fd(sock, "receive terminal", 4096));
  if (!r.fd.valid()) return Error::make("receive terminal: no file descriptor");
  return std::move(r.fd);
}

Result<Pty> open_pty_in_child(const std::optional<spec::ConsoleSize>& size) {
  Pty p;
  p.master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master.valid()) return Error::last("open \"/dev/ptmx\"");
  // Both ioctls fail on anything but a pty master: a /dev/ptmx the image replaced is refused here.
  if (::unlockpt(p.master.get()) != 0) return Error::last("unlockpt \"/dev/ptmx\"");
  char name[128];
  if (::ptsname_r(p.master.get(), name, sizeof name) != 0) return Error::last("ptsname");
  p.slave_path = name;
  // The peer by fd, not by its path: /dev/pts is the container's and could lead elsewhere.
  p.slave.reset(::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave.valid()) {
    if (errno != EINVAL && errno != ENOTTY) return Error::last("open the terminal's peer");
    p.slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW));  // before Linux 4.13
    if (!p.slave.valid()) return Error::last("open \"" + p.slave_path + "\"");
  }
  if (size) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (::ioctl(p.master.get(), TIOCSWINSZ, &ws) != 0) return Error::last("set console size");
  }
  return p;
}

Status attach_pty_in_child(const Pty& p) {
  if (::ioctl(p.slave.get(), TIOCSCTTY, 0) != 0) return Error::last("set controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(p.slave.get(), fd) < 0) return Error::last("dup terminal to fd " + std::to_string(fd));
  return ok();
}

Result<std::pair<UniqueFd, std::string>> open_host_pty() {
  UniqueFd m(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!m.valid()) return Error::last("open a host pty");
  if (::grantpt(m.get()) != 0 || ::unlockpt(m.get()) != 0) return Error::last("unlock the host pty");
  char name[128];
  if (::ptsname_r(m.get(), name, sizeof name) != 0) return Error::last("ptsname");
  return std::make_pair(std::move(m), std::string(name));
}

}  // namespace ocelot::runtime
