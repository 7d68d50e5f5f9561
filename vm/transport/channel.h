// The host's end of the agent's control ports (vm/protocol.h): unix sockets that QEMU serves,
// carrying frames (vm/frame.h).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vm/transport/frame.h"

namespace ocelot::vm {

// Connects to <dir>/<name>; works for directories longer than sun_path allows.
Result<UniqueFd> connect_socket(const std::string& dir, const std::string& name);
Status send_frame(int fd, FrameType type, std::string_view payload = {});

// Frames from one port, waited for with a deadline.
class FrameChannel {
 public:
  explicit FrameChannel(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  // The next frame. timeout_ms < 0: no limit. watch > 0: our child, whose exit ends the wait
  // (after what it sent has been read). Errors: ETIMEDOUT, or "closed" (code EPIPE).
  Result<Frame> read(int timeout_ms, pid_t watch = 0);
  // Whatever is there now, without waiting (for poll loops): nullopt when nothing is complete;
  // EPIPE when the other side closed.
  Result<std::optional<Frame>> poll_once();

 private:
  int fd_;
  FrameReader reader_;
};

}  // namespace ocelot::vm
