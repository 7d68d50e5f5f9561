// The foreground side of `run` and `exec`: wait for the child, forward the signals we receive to
// it (as runc does), and when we own the terminal, proxy between our stdio and the pty master.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <termios.h>

#include "base/error.h"

namespace ocelot::runtime {

// Blocks the forwarded signals (and SIGCHLD) from construction on, so none is lost between
// clone() and supervise(); restores the old mask when destroyed. The child unblocks its own.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_, old_;
};

// Copies what `from` has now to `to` (all of it); false at EOF or on an error.
bool pump_fd(int from, int to);

// While it lives, our stdin (when a terminal) is in raw mode, as a proxied pty needs.
class RawStdin {
 public:
  RawStdin();
  ~RawStdin();
  RawStdin(const RawStdin&) = delete;
  RawStdin& operator=(const RawStdin&) = delete;

 private:
  struct termios* saved_ = nullptr;
};

// Returns the exit code: the status, or 128+N when killed by signal N.
Result<int> supervise(pid_t child, int console_master, const SignalBlock& signals);

}  // namespace ocelot::runtime
