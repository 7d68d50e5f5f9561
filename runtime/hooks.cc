#include "runtime/hooks.h"
#include "base/strings.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "base/clock.h"
#include "base/unique_fd.h"

namespace ocelot::runtime {

Status run_hook(const spec::Hook& h, const std::string& state_json, const std::string& kind, size_t index,
                const HookTracker* tracker) {
  std::string what = "hook " + kind + "[" + std::to_string(index) + "] \"" + h.path + "\"";
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Error::last(what + ": pipe");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return Error::last(what + ": pipe");
  }
  UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<std::string> env = h.env;
  CStrings argv(args), envp(env);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Error::last(what + ": fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) ::_exit(1);
    ::setpgid(0, 0);
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  if (tracker && tracker->started) tracker->started(pid);
  in_r.reset();
  out_w.reset();
  // A hook that does not read its stdin must not block us: ignore EPIPE.
  signal(SIGPIPE, SIG_IGN);
  (void)!::write(in_w.get(), state_json.data(), state_json.size());
  in_w.reset();
  std::string output;
  int64_t deadline = h.timeout ? monotonic_ms() + int64_t{*h.timeout} * 1000 : -1;
  bool timed_out = false;
  // The hook is done when it exits, not when its output pipe closes: a child it left running in
  // the background may hold the pipe for ever (Go's exec waits there; runc then hangs).
  UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  auto drain = [&]() -> bool {  // false at end-of-file
    char buf[4096];
    for (;;) {
      ssize_t r = ::read(out_r.get(), buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return r < 0 && errno == EAGAIN;
      if (output.size() < 4096) output.append(buf, static_cast<size_t>(r));
    }
  };
  for (bool open = true;;) {
    int wait = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - monotonic_ms()));
    struct pollfd p[2] = {{exited.get(), POLLIN, 0}, {open ? out_r.get() : -1, POLLIN, 0}};
    int n = ::poll(p, 2, wait);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (p[1].revents) open = drain();
    if (p[0].revents || (!exited.valid() && !open)) {
      drain();
      break;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // A timed-out hook's process group goes with it (what a hook that exited normally left
  // running is its business, as with runc).
  if (timed_out) ::kill(-pid, SIGKILL);
  if (tracker && tracker->ended) tracker->ended(pid);
  if (timed_out) return Error::sys(ETIMEDOUT, what + ": timed out after " + std::to_string(*h.timeout) + "s");
  auto first_line = [&] {
    auto nl = output.find('\n');
    std::string l = output.substr(0, nl);
    return l.empty() ? std::string() : ": " + l;
  };
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && ::access(h.path.c_str(), X_OK) != 0)
    return Error::sys(ENOENT, what + ": cannot execute");
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return Error::make(what + " exited with status " + std::to_string(WEXITSTATUS(status)) + first_line());
  if (WIFSIGNALED(status))
    return Error::make(what + " killed by signal " + std::to_string(WTERMSIG(status)) + first_line());
  return ok();
}

Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& state_json, const std::string& kind,
                 const HookTracker* tracker) {
  for (size_t i = 0; i < hooks.size(); ++i) OCL_CHECK(run_hook(hooks[i], state_json, kind, i, tracker));
  return ok();
}

}  // namespace ocelot::runtime
