// One message over a unix socket with at most one file descriptor riding along (SCM_RIGHTS): the
// terminal to a console socket, the seccomp notify fd over the sync channel, a pty master back to
// run. MSG_NOSIGNAL on send (a peer that went is an error, not a SIGPIPE), close-on-exec on receive.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot {

// fd < 0: the payload alone. what: for the error ("send terminal to console socket").
Status send_with_fd(int sock, std::string_view payload, int fd, std::string_view what);

struct Received {
  std::string payload;  // exactly what was sent (the buffer is sized from the message first)
  UniqueFd fd;          // invalid when none came along
  bool eof = false;     // the peer is gone (end of stream, or it died with our data unread)
};
// One message. stream_max == 0: a datagram socket (SOCK_SEQPACKET), the buffer sized from the
// message itself (never a cut payload); else a stream socket, read up to stream_max bytes.
Result<Received> receive_with_fd(int sock, std::string_view what, size_t stream_max = 0);

}  // namespace ocelot
