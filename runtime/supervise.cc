#include "runtime/supervise.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <optional>

#include "base/unique_fd.h"

namespace ocelot::runtime {

static const int kForwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
                                 SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD, SIGPWR};

SignalBlock::SignalBlock() {
  sigemptyset(&set_);
  for (int s : kForwarded) sigaddset(&set_, s);
  ::sigprocmask(SIG_BLOCK, &set_, &old_);
}

SignalBlock::~SignalBlock() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

static void copy_winsize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

bool pump_fd(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

RawStdin::RawStdin() {
  struct termios t;
  if (!::isatty(0) || ::tcgetattr(0, &t) != 0) return;
  saved_ = new struct termios(t);
  ::cfmakeraw(&t);
  if (::tcsetattr(0, TCSANOW, &t) != 0) {
    delete saved_;
    saved_ = nullptr;
  }
}

RawStdin::~RawStdin() {
  if (!saved_) return;
  ::tcsetattr(0, TCSANOW, saved_);
  delete saved_;
}

Result<int> supervise(pid_t child, int master, const SignalBlock& signals) {
  UniqueFd sfd(::signalfd(-1, &signals.set(), SFD_CLOEXEC));
  if (!sfd.valid()) return Error::last("signalfd");
  std::optional<RawStdin> raw;
  if (master >= 0) {
    raw.emplace();
    copy_winsize(0, master);
  }
  bool stdin_open = master >= 0;
  int code = -1;
  while (code < 0) {
    struct pollfd p[3] = {{sfd.get(), POLLIN, 0}, {master, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    int n = ::poll(p, master >= 0 ? 3 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          int status;
          pid_t r;
          while ((r = ::waitpid(-1, &status, WNOHANG)) > 0)
            if (r == child) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        } else if (sig == SIGWINCH && master >= 0) {
          copy_winsize(0, master);
        } else {
          ::kill(child, sig);
        }
      }
    }
    if (master >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
      if (!pump_fd(master, 1)) {
        // All slave ends closed: keep waiting for the exit status only.
        master = -1;
        stdin_open = false;
      }
    }
    if (stdin_open && (p[2].revents & (POLLIN | POLLHUP)))
      if (!pump_fd(0, master)) stdin_open = false;
  }
  if (master >= 0) {
    // Drain what the workload wrote before it exited.
    struct pollfd p = {master, POLLIN, 0};
    while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump_fd(master, 1)) {
    }
  }
  if (code < 0) return Error::make("lost track of the container process");
  return code;
}

}  // namespace ocelot::runtime
