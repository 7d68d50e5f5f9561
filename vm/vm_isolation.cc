#include "vm/vm_isolation.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/container.h"
#include "runtime/state_store.h"
#include "runtime/supervise.h"
#include "spec/serialize.h"
#include "vm/channel.h"
#include "vm/exec_request.h"
#include "vm/protocol.h"
#include "vm/vmm.h"

namespace ocelot::vm {

namespace {

// A regular file shared with QEMU through /proc/self/fd/N is a new open file description: its
// offset is QEMU's, not ours. Move ours (and so the caller's) past what QEMU appended.
void seek_stdio_to_end() {
  for (int fd : {1, 2}) {
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ::lseek(fd, 0, SEEK_END);
  }
}

Result<int> parse_code(const std::string& s) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || v < 0 || v > 255) return Error::make("the guest sent a malformed exit code " + quote(s));
  return static_cast<int>(v);
}

// Sends "start" on the control connection (unless it went with the plan) and waits for "started".
Status start_on(runtime::StateStore& store, const std::string& id, int ctl, bool sent = false) {
  if (!sent) OCL_CHECK(send_frame(ctl, FrameType::start));
  FrameChannel ch(ctl);
  auto f = ch.read(60000);
  if (!f) return std::move(f).error().wrap("start the guest's container");
  if (f->type == FrameType::error) return Error::make("in the VM: " + f->payload);
  if (f->type != FrameType::started) return Error::make("the guest did not start the container");
  ::unlink(store.fifo(id).c_str());
  return ok();
}

class VmIsolation : public runtime::Isolation {
 public:
  explicit VmIsolation(runtime::Globals g) : g_(std::move(g)), store_(g_.root) {}
  runtime::IsolationKind kind() const override { return runtime::IsolationKind::vm; }

  Status create(const runtime::CreateOptions& o) override {
    auto b = boot_vm(g_, o, false);
    if (!b) return std::move(b).error();
    return ok();
  }

  Status start(const std::string& id) override {
    UniqueFd lock = OCL_TRY(store_.lock(id));
    auto s = OCL_TRY(store_.load(id));
    auto st = OCL_TRY(runtime::container_status(store_, s));
    OCL_CHECK(spec::check_operation(st, spec::Operation::start, id));
    UniqueFd c = OCL_TRY(connect_socket(store_.dir(id), kCtlSocket));
    return start_on(store_, id, c.get());
  }

  Result<int> run(const runtime::CreateOptions& o, bool detach, bool keep) override;
  Result<int> exec(const runtime::ExecOptions& o) override;

  // kill, kill --all and update go to the agent, which applies them to the guest's container.
  Status command(const std::string& id, spec::Operation op, FrameType type, const std::string& payload) {
    auto s = OCL_TRY(store_.load(id));
    auto st = OCL_TRY(runtime::container_status(store_, s));
    OCL_CHECK(spec::check_operation(st, op, id));
    if (st == spec::ContainerStatus::stopped || st == spec::ContainerStatus::creating)
      return Error::make("container not running");
    auto c = connect_socket(store_.dir(id), kCmdSocket);
    if (!c) return Error::make("container not running");
    OCL_CHECK(send_frame(c->get(), type, payload));
    FrameChannel ch(c->get());
    auto f = ch.read(30000);
    if (!f) return std::move(f).error().wrap("in the VM");
    if (f->type == FrameType::error) return Error::make("in the VM: " + f->payload);
    if (f->type != FrameType::done)
      return Error::make(std::string("the guest sent \"") + frame_type_name(f->type) + "\"");
    return ok();
  }
  Status kill(const std::string& id, int sig, bool all) override {
    return command(id, all ? spec::Operation::kill_all : spec::Operation::kill,
                   all ? FrameType::kill_all : FrameType::kill, std::to_string(sig));
  }
  Status update(const std::string& id, const spec::Resources& r) override {
    return command(id, spec::Operation::update, FrameType::update, spec::resources_to_json(r));
  }

  // The VMM's host side: the state dir, its cgroup (pause freezes the whole VM).
  Status remove(const std::string& id, bool force) override { return runtime::delete_container(g_, id, force); }
  Result<spec::State> state(const std::string& id) override { return runtime::container_state(g_, id); }
  Result<std::vector<pid_t>> pids(const std::string& id) override { return runtime::container_pids(g_, id); }
  Status pause(const std::string& id) override { return runtime::pause_container(g_, id); }
  Status resume(const std::string& id) override { return runtime::resume_container(g_, id); }
  Result<cgroups::Stats> stats(const std::string& id) override { return runtime::container_stats(g_, id); }

 private:
  runtime::Globals g_;
  runtime::StateStore store_;
};

Result<int> VmIsolation::run(const runtime::CreateOptions& o, bool detach, bool keep) {
  // Signals are blocked from before the VMM exists, so none is lost; the VMM unblocks its own.
  runtime::SignalBlock signals;
  Booted b = OCL_TRY(boot_vm(g_, o, !detach, true));
  auto started = start_on(store_, o.id, b.ctl.get(), true);
  if (!started) {
    (void)runtime::delete_container(g_, o.id, true);
    return std::move(started).error();
  }
  if (detach) return 0;
  log::step("started");
  UniqueFd sfd(::signalfd(-1, &signals.set(), SFD_CLOEXEC));
  int code = -1;
  bool vmm_gone = false, ctl_open = true;
  FrameChannel ch(b.ctl.get());
  // process.terminal without --console-socket: our stdin/stdout <-> the host pty master, raw.
  int master = b.tty_master.valid() ? b.tty_master.get() : -1;
  std::optional<runtime::RawStdin> raw;
  if (master >= 0) raw.emplace();
  bool stdin_open = master >= 0;
  while (code < 0 && !vmm_gone && ctl_open) {
    struct pollfd p[4] = {
        {b.ctl.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}, {master, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    int n = ::poll(p, 4, -1);
    if (n < 0 && errno != EINTR) break;
    if (master >= 0 && (p[2].revents & (POLLIN | POLLHUP)) && !runtime::pump_fd(master, 1)) master = -1;
    if (stdin_open && (p[3].revents & (POLLIN | POLLHUP)) && !runtime::pump_fd(0, master)) stdin_open = false;
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          int st;
          if (::waitpid(b.vmm, &st, WNOHANG) == b.vmm) vmm_gone = true;
        } else if (sig != SIGWINCH) {
          (void)send_frame(b.ctl.get(), FrameType::kill, std::to_string(sig));
        }
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      for (;;) {
        auto f = ch.poll_once();
        if (!f) {
          ctl_open = false;
          break;
        }
        if (!*f) break;
        if ((*f)->type == FrameType::exit) code = OCL_TRY(parse_code((*f)->payload));
      }
    }
  }
  // The agent says "exit" after the workload's output is through the ports (a port write returns
  // once QEMU has taken it) and after a sync: nothing is left in the guest that the host needs,
  // so the VMM is stopped now rather than after the guest's own power-off (60 ms under TCG).
  log::step("exit reported");
  if (!vmm_gone && code >= 0) ::kill(b.vmm, SIGKILL);
  if (!vmm_gone) {
    for (int64_t end = monotonic_ms() + 5000; monotonic_ms() < end;) {
      pid_t r = ::waitpid(b.vmm, nullptr, WNOHANG);
      if (r == b.vmm || (r < 0 && errno == ECHILD)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  if (master >= 0) {
    struct pollfd q = {master, POLLIN, 0};
    while (::poll(&q, 1, 50) > 0 && (q.revents & POLLIN) && runtime::pump_fd(master, 1)) {
    }
  }
  raw.reset();
  seek_stdio_to_end();
  if (!keep) (void)runtime::delete_container(g_, o.id, true);
  if (code < 0) return Error::make("the VM stopped without reporting the container's exit status");
  return code;
}

Result<int> VmIsolation::exec(const runtime::ExecOptions& o) {
  if (o.tty) return Error::make("exec: --tty is not supported for VM-isolated containers yet");
  if (o.detach) return Error::make("exec: --detach is not supported for VM-isolated containers yet");
  if (!o.pid_file.empty())
    return Error::make("exec: --pid-file is not supported for VM-isolated containers (the process is in the guest)");
  if (o.preserve_fds > 0) return Error::make("exec: --preserve-fds is not supported for VM-isolated containers");
  if (!o.console_socket.empty())
    return Error::make("exec: --console-socket is not supported for VM-isolated containers yet");
  auto s = OCL_TRY(store_.load(o.id));
  auto status = OCL_TRY(runtime::container_status(store_, s));
  OCL_CHECK(spec::check_operation(status, spec::Operation::exec, o.id, o.ignore_paused));
  if (status == spec::ContainerStatus::created)
    return Error::make("exec: a VM-isolated container must be started first");
  std::string process_text;
  if (!o.process_file.empty()) process_text = OCL_TRY(fs::read_file(o.process_file));
  runtime::SignalBlock signals;
  UniqueFd c = OCL_TRY(connect_socket(store_.dir(o.id), kExecSocket));
  OCL_CHECK(send_frame(c.get(), FrameType::exec, encode_exec(o, process_text)));
  UniqueFd sfd(::signalfd(-1, &signals.set(), SFD_CLOEXEC));
  FrameChannel ch(c.get());
  auto write_all = [](int fd, const std::string& d) {
    for (size_t off = 0; off < d.size();) {
      ssize_t w = ::write(fd, d.data() + off, d.size() - off);
      if (w <= 0) return;
      off += static_cast<size_t>(w);
    }
  };
  for (;;) {
    struct pollfd p[2] = {{c.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return Error::last("poll");
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
        (void)send_frame(c.get(), FrameType::kill, std::to_string(si.ssi_signo));
    }
    if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
    for (;;) {
      auto f = ch.poll_once();
      if (!f) return Error::make("the VM stopped before the exec'd process exited");
      if (!*f) break;
      switch ((*f)->type) {
        case FrameType::out: write_all(1, (*f)->payload); break;
        case FrameType::err: write_all(2, (*f)->payload); break;
        case FrameType::exit: return parse_code((*f)->payload);
        case FrameType::error: return Error::make("in the VM: " + (*f)->payload);
        default: return Error::make(std::string("unexpected \"") + frame_type_name((*f)->type) + "\" from the guest");
      }
    }
  }
}

}  // namespace

std::unique_ptr<runtime::Isolation> make_vm_isolation(const runtime::Globals& g) {
  return std::make_unique<VmIsolation>(g);
}

}  // namespace ocelot::vm
