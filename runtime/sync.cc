#include "runtime/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace ocelot::runtime {

namespace {
struct Header {
  uint32_t type;
  int32_t err;
  uint32_t len;
};
constexpr size_t kMax = 64 * 1024;
}  // namespace

Status send_msg(int fd, Msg type, int32_t err, std::string_view payload) noexcept {
  if (payload.size() > kMax - sizeof(Header)) payload = payload.substr(0, kMax - sizeof(Header));
  Header h{static_cast<uint32_t>(type), err, static_cast<uint32_t>(payload.size())};
  struct iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(payload.data()), payload.size()}};
  struct msghdr m = {};
  m.msg_iov = iov;
  m.msg_iovlen = payload.empty() ? 1 : 2;
  while (::sendmsg(fd, &m, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    return Error::last("send sync message");
  }
  return ok();
}

Result<Message> recv_msg(int fd) {
  std::unique_ptr<char[]> buf(new char[kMax]);  // not zero-filled: recv writes what we read
  ssize_t n;
  do n = ::recv(fd, buf.get(), kMax, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Error::last("receive sync message");
  if (n == 0) return Error{0, "eof"};
  if (static_cast<size_t>(n) < sizeof(Header)) return Error::make("short sync message");
  Header h;
  std::memcpy(&h, buf.get(), sizeof h);
  Message m;
  m.type = static_cast<Msg>(h.type);
  m.err = h.err;
  m.payload.assign(buf.get() + sizeof h, std::min<size_t>(h.len, static_cast<size_t>(n) - sizeof h));
  return m;
}

void child_fail(int fd, const Error& e) noexcept {
  (void)send_msg(fd, Msg::error, e.code, e.msg);
  ::_exit(1);
}

}  // namespace ocelot::runtime
