#include "vm/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace ocelot::vm {

static int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Result<UniqueFd> connect_socket(const std::string& dir, const std::string& name) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::last("socket");
  std::string path = dir + "/" + name;
  UniqueFd dfd;
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    // Through an fd of the directory: /proc/self/fd/N/<name> is short.
    dfd.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dfd.valid()) return Error::last("open \"" + dir + "\"");
    path = "/proc/self/fd/" + std::to_string(dfd.get()) + "/" + name;
  }
  std::memcpy(a.sun_path, path.c_str(), path.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Error::last("connect to \"" + dir + "/" + name + "\"");
  return s;
}

std::string read_line(int fd, int timeout_ms, pid_t watch) {
  std::string l;
  int64_t end = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  for (;;) {
    int wait = 100;
    if (end >= 0) wait = static_cast<int>(std::clamp<int64_t>(end - now_ms(), 0, 100));
    struct pollfd p = {fd, POLLIN, 0};
    int n = ::poll(&p, 1, wait);
    if (n > 0) {
      char ch;
      if (::read(fd, &ch, 1) != 1) return "";
      if (ch == '\n') return l;
      l += ch;
      continue;
    }
    if (n < 0 && errno != EINTR) return "";
    if (watch > 0) {
      int st;
      pid_t r = ::waitpid(watch, &st, WNOHANG);
      if (r == watch || (r < 0 && errno == ECHILD)) {
        // Lines already sent are still in the socket: read them before giving up.
        struct pollfd q = {fd, POLLIN, 0};
        if (::poll(&q, 1, 0) > 0 && (q.revents & POLLIN)) {
          watch = 0;  // reaped: read on until EOF
          continue;
        }
        return "";
      }
    }
    if (end >= 0 && now_ms() >= end) return "";
  }
}

Status send_line(int fd, const std::string& line) {
  std::string s = line + "\n";
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Error::last("write to the guest's control port");
    }
    off += static_cast<size_t>(w);
  }
  return ok();
}

}  // namespace ocelot::vm
