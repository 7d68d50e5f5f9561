#include "base/fd_passing.h"

#include <sys/socket.h>

#include <cstring>
#include <vector>

namespace ocelot {

Status send_with_fd(int sock, std::string_view payload, int fd, std::string_view what) {
  struct msghdr m = {};
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  char empty = 0;
  // A SOCK_STREAM message needs a byte of data to carry its control message.
  struct iovec iov = {payload.empty() ? &empty : const_cast<char*>(payload.data()),
                      payload.empty() ? 1 : payload.size()};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (fd >= 0) {
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  while (::sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return Error::last(what);
  return ok();
}

// A datagram's real size, without consuming it, so the buffer fits the message exactly.
static ssize_t datagram_size(int sock) {
  ssize_t size;
  do size = ::recv(sock, nullptr, 0, MSG_PEEK | MSG_TRUNC);
  while (size < 0 && errno == EINTR);
  return size;
}

Result<Received> receive_with_fd(int sock, std::string_view what, size_t stream_max) {
  Received r;
  ssize_t size = stream_max > 0 ? static_cast<ssize_t>(stream_max) : datagram_size(sock);
  // A peer that exits with a message of ours unread resets the connection. A seqpacket socket
  // reports that reset once, before the messages the peer sent and we have not read (the kernel
  // checks sk_err first): look again for its last words (an error), and only then call it EOF.
  if (size < 0 && errno == ECONNRESET) size = datagram_size(sock);
  if (size < 0 && errno == ECONNRESET) size = 0;
  if (size < 0) return Error::last(what);
  if (size == 0) {
    r.eof = true;
    return r;
  }
  std::vector<char> buf(static_cast<size_t>(size));
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n;
  // The reset can also land between that look and this read: the message is still queued.
  int resets = 0;
  do n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0)));
  if (n < 0) return Error::last(what);
  r.payload.assign(buf.data(), static_cast<size_t>(n));
  if (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    r.fd.reset(fd);
  }
  if (n == 0 && !r.fd.valid()) r.eof = true;
  return r;
}

}  // namespace ocelot
