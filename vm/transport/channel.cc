#include "vm/transport/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/clock.h"

namespace ocelot::vm {

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
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return Error::last("connect to \"" + dir + "/" + name + "\"");
  return s;
}

Status send_frame(int fd, FrameType type, std::string_view payload) {
  std::string s = encode_frame(type, payload);
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Error::last(std::string("send \"") + frame_type_name(type) + "\" to the guest");
    }
    off += static_cast<size_t>(w);
  }
  return ok();
}

Result<std::optional<Frame>> FrameChannel::poll_once() {
  if (auto f = OCL_TRY(reader_.next())) return f;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0) return Error{EPIPE, "the guest closed the channel"};
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return std::optional<Frame>();
    return Error::last("read from the guest");
  }
  reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
  return reader_.next();
}

Result<Frame> FrameChannel::read(int timeout_ms, pid_t watch) {
  int64_t end = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
  for (;;) {
    auto f = poll_once();
    if (!f) return std::move(f).error();
    if (*f) return std::move(**f);
    int wait = 100;
    if (end >= 0) wait = static_cast<int>(std::clamp<int64_t>(end - monotonic_ms(), 0, 100));
    struct pollfd p = {fd_, POLLIN, 0};
    int n = ::poll(&p, 1, wait);
    if (n > 0) continue;
    if (n < 0 && errno != EINTR) return Error::last("poll the guest channel");
    if (watch > 0) {
      int st;
      pid_t r = ::waitpid(watch, &st, WNOHANG);
      if (r == watch || (r < 0 && errno == ECHILD)) {
        // What it sent before it went is still in the socket: read that first.
        struct pollfd q = {fd_, POLLIN, 0};
        if (::poll(&q, 1, 0) > 0 && (q.revents & POLLIN)) {
          watch = 0;
          continue;
        }
        return Error{EPIPE, "the VMM exited"};
      }
    }
    if (end >= 0 && monotonic_ms() >= end) return Error{ETIMEDOUT, "timed out waiting for the guest"};
  }
}

}  // namespace ocelot::vm
