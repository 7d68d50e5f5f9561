#include "runtime/console.h"

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

Status send_fd(int sock, int fd, const std::string& name) {
  struct msghdr m = {};
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov = {const_cast<char*>(name.data()), name.size()};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  while (::sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return Error::last("send terminal to console socket");
  return ok();
}

Result<UniqueFd> recv_fd(int sock) {
  struct msghdr m = {};
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  char name[4096];
  struct iovec iov = {name, sizeof name};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n;
  while ((n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) return Error::last("receive terminal");
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (n == 0 || !c || c->cmsg_type != SCM_RIGHTS) return Error::make("receive terminal: no file descriptor");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
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
