#include "vm/vm_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "base/clock.h"
#include "base/failpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/console.h"
#include "runtime/lifecycle.h"
#include "runtime/safe_exe.h"
#include "runtime/supervise.h"
#include "spec/serialize.h"
#include "vm/transport/exec_request.h"
#include "vm/transport/protocol.h"
#include "vm/vmm/image.h"
#include "vm/vmm/qmp.h"

namespace ocelot::vm {

namespace {

// Guest RAM beyond the container's memory limit: the guest kernel, its page cache and the agent
// (measured: the guest idles at about 60 MiB used).
constexpr unsigned kGuestHeadroomMiB = 96;
// Host memory of the VMM beyond guest RAM: QEMU itself and its TCG translation cache (tb-size=64).
constexpr unsigned kVmmOverheadMiB = 160;
constexpr unsigned kDefaultGuestMiB = 256;

// The TCG notice is said once per host (then only with --debug): stderr belongs to the workload.
// Said once per host at info level (later at debug): what this host cannot give VM containers.
void notice_once(const std::string& name, const std::string& msg) {
  std::string marker = std::string(kVmCache) + "/" + name + "-notice-shown";
  if (fs::exists(marker)) {
    log::debug(msg);
    return;
  }
  log::info(msg);
  (void)fs::mkdir_p(kVmCache, 0755);
  (void)fs::write_file(marker, msg + "\n");
}

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

std::string random_hex(size_t bytes) {
  unsigned char seed[64];
  bytes = std::min(bytes, sizeof seed);
  if (::getrandom(seed, bytes, 0) != static_cast<ssize_t>(bytes)) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) out += std::string{hex[seed[i] >> 4], hex[seed[i] & 15]};
  return out;
}

// The plan's size from the container's limits: RAM = limit + headroom, vCPUs = ceil(quota/period).
void size_guest(VmPlan& plan, const spec::Config& cfg) {
  plan.memory_mib = kDefaultGuestMiB;
  const auto* res = cfg.linux && cfg.linux->resources ? &*cfg.linux->resources : nullptr;
  if (res && res->memory && res->memory->limit && *res->memory->limit > 0)
    plan.memory_mib = static_cast<unsigned>((*res->memory->limit + (1 << 20) - 1) >> 20) + kGuestHeadroomMiB;
  if (res && res->cpu && res->cpu->quota && *res->cpu->quota > 0 && res->cpu->period && *res->cpu->period > 0) {
    int64_t period = static_cast<int64_t>(*res->cpu->period);
    plan.cpus = static_cast<unsigned>(std::clamp<int64_t>((*res->cpu->quota + period - 1) / period, 1, 64));
  }
}

}  // namespace

// Under TCG on a busy 2-core host a cold boot took up to 40 s and a restore's create up to 20 s
// (measured with `ocelot compare` at load 2-3): these leave room.
VmBackend::Deadlines VmBackend::deadlines(bool kvm) {
  return kvm ? Deadlines{30000, 30000, 30000, 30000} : Deadlines{60000, 60000, 240000, 120000};
}

// -- create ----------------------------------------------------------------------------------------

Status VmBackend::load(runtime::Creation& c) {
  gp_ = OCL_TRY(plan_guest(c.b.text, c.b.dir, fs::is_dir));
  if (!fs::is_dir(gp_.shares[0].host_path)) return Error::sys(ENOENT, "rootfs " + quote(gp_.shares[0].host_path));
  for (const auto& w : gp_.warnings) log::warn(w);
  plan_.qemu = OCL_TRY(find_qemu());
  GuestKernel kernel = OCL_TRY(find_kernel(g_.vm_kernel));
  plan_.initrd = OCL_TRY(initramfs(fs::dirname(runtime::self_path()) + "/ocelot-agent", kernel));
  log::step("guest image found");
  plan_.kvm = kvm_usable(plan_.qemu);
  plan_.kernel = kernel.image;
  plan_.tsc_khz = host_tsc_khz();
  size_guest(plan_, c.b.config);
  plan_.shares = gp_.shares;
  plan_.ctl_socket = kCtlSocket;  // relative: QEMU runs in the state dir
  plan_.cmd_socket = kCmdSocket;
  plan_.exec_sessions = kExecSessions;
  plan_.stdout_path = "/proc/self/fd/3";
  plan_.stderr_path = "/proc/self/fd/4";
  if (c.b.config.process->terminal) {
    // QEMU opens the slave as the guest's "ocelot.tty" port (raw: the line discipline is the
    // guest pty's); the master goes to the console socket, or to run's terminal.
    auto pty = OCL_TRY(runtime::open_host_pty());
    tty_master_ = std::move(pty.first);
    plan_.tty_path = pty.second;
  }
  if (const char* v = ::getenv("OCELOT_VM_CONSOLE"); v && *v) plan_.console_log = v;
  if (const char* v = ::getenv("OCELOT_VM_KERNEL_ARGS"); v && *v) plan_.extra_cmdline = v;
  plan_.share_helper = OCL_TRY(find_share_helper());
  if (plan_.share_helper.empty())
    notice_once("vmm-root",
                "no virtfs-proxy-helper (qemu-system-common): the VMM serves the rootfs itself and keeps uid 0");
  if (!plan_.kvm) notice_once("tcg", "no usable /dev/kvm: the guest runs under QEMU's TCG software emulation");
  return ok();
}

// The created marker (exec.fifo's place for containers: start removes it), and the template this
// guest restores from, when one fits (built now if missing: seconds under TCG, once per size).
Status VmBackend::prepare(runtime::Creation& c) {
  OCL_CHECK(fs::write_file(c.store.fifo(c.o.id), "", 0600));
  log_path_ = c.store.dir(c.o.id) + "/vmm.log";
  OCL_CHECK(attach_network(c));
  if (!g_.vm_template) return ok();
  if (auto why = template_unfit(plan_); !why.empty()) {
    log::debug("VM template not used (" + why + "): cold boot");
    return ok();
  }
  auto empty = template_empty_dir();
  if (!empty) {
    log::debug(empty.error().msg + ": cold boot");
    return ok();
  }
  VmPlan pl = with_template_slots(plan_, *empty);
  bool built = false;
  int64_t t0 = monotonic_ms();
  auto t = ensure_template(pl, *empty, &built);
  if (!t && plan_.kvm && kvm_failed_in_log(t.error().msg)) {
    // A /dev/kvm that cannot run a guest (nested virtualisation): QEMU said so while it built
    // the template. Remembered for this host boot and QEMU, and the template built under TCG
    // now; else this container would boot cold twice (KVM, then TCG) and leave no template.
    remember_kvm_broken(plan_.qemu, t.error().msg);
    notice_once("tcg",
                "/dev/kvm could not run the guest (" + t.error().msg + "): using TCG on this host until it reboots");
    plan_.kvm = false;
    pl = with_template_slots(plan_, *empty);
    t = ensure_template(pl, *empty, &built);
  }
  if (!t) {
    log::debug(t.error().msg + ": cold boot");
    return ok();
  }
  if (built) log::debug("VM template built in " + std::to_string(monotonic_ms() - t0) + " ms: " + t->dir);
  log::step("template found");
  pl.ram_file = t->ram();
  pl.ram_shared = false;  // copy on write: the template never changes
  pl.qmp_socket = "qmp.sock";
  pl.incoming = true;
  pl.template_build = true;  // the same kernel command line as the saved guest's
  restore_plan_ = pl;
  template_ = *t;
  empty_dir_ = *empty;
  if (g_.vm_pool > 0) return take_spare(c, pl);
  return ok();
}

namespace {

constexpr const char* kNetworkRecord = "network";  // the namespace's path, then the joined interfaces

bool same_file(const std::string& a, const std::string& b) {
  struct stat x, y;
  return ::stat(a.c_str(), &x) == 0 && ::stat(b.c_str(), &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

}  // namespace

Status VmBackend::attach_network(runtime::Creation& c) {
  if (gp_.host_netns.empty()) return ok();
  // runc would run the container in the host's network; a guest cannot have the host's interfaces
  // (their traffic would all go to it).
  if (same_file(gp_.host_netns, "/proc/self/ns/net"))
    return Error::make("VM isolation: the config joins the host's network namespace (" + quote(gp_.host_netns) +
                       "): its interfaces cannot be given to a guest");
  std::string record = c.store.dir(c.o.id) + "/" + kNetworkRecord;
  auto a = vm::attach_network(gp_.host_netns);
  if (!a) return std::move(a).error();
  joined_ = a->joined;
  std::string text = gp_.host_netns + "\n";
  for (const auto& j : joined_) text += j + "\n";
  if (auto st = fs::write_file(record, text, 0600); !st) {
    (void)vm::detach_network(gp_.host_netns, joined_);
    joined_.clear();
    return st;
  }
  taps_ = std::move(a->taps);
  gp_.nics = std::move(a->nics);
  for (const auto& n : gp_.nics) plan_.nic_macs.push_back(n.mac);
  log::step("network attached");
  return ok();
}

void VmBackend::on_delete(const runtime::Stored& s) noexcept {
  forget_spare(g_.root + "/" + s.id);
  auto text = fs::read_file(g_.root + "/" + s.id + "/" + kNetworkRecord);
  if (!text) return;
  std::vector<std::string> lines;
  for (size_t at = 0; at < text->size();) {
    size_t nl = text->find('\n', at);
    if (nl == std::string::npos) nl = text->size();
    lines.push_back(text->substr(at, nl - at));
    at = nl + 1;
  }
  if (lines.empty()) return;
  if (auto st = vm::detach_network(lines[0], {lines.begin() + 1, lines.end()}); !st)
    log::warn("container " + quote(s.id) + ": " + st.error().msg);
}

Result<VmmProcess> VmBackend::spawn_held(const runtime::Creation& c, const VmPlan& plan, bool restore) {
  std::string dir = c.store.dir(c.o.id);
  for (const char* s : {kCtlSocket, kCmdSocket, "qmp.sock"}) ::unlink((dir + "/" + s).c_str());
  for (int i = 0; i < kExecSessions; ++i) ::unlink((dir + "/" + exec_socket_name(i)).c_str());
  VmmSpawn how;
  how.argv = qemu_argv(plan);
  how.env = vmm_environment(environ);
  how.dir = dir;
  how.log_path = log_path_;
  // The caller's stdout and stderr become the VMM's fds 3 and 4, where the guest's ocelot.out
  // and ocelot.err ports write; a restore reads the saved device state from fd 5 ("fd:5").
  how.fds = {{1, 3}, {2, 4}};
  UniqueFd state;
  if (restore) {
    state.reset(::open(template_->state().c_str(), O_RDONLY | O_CLOEXEC));
    if (!state.valid()) return Error{EPIPE, "open the template's state: " + errno_text(errno)};
    how.fds.push_back({state.get(), 5});
  }
  for (size_t i = 0; i < taps_.size(); ++i) how.fds.push_back({taps_[i].get(), kNicFd + static_cast<int>(i)});
  how.die_with_parent = c.mode == runtime::LaunchMode::foreground;  // nothing outlives a foreground run
  how.hold = true;  // released once the core has put it in the container's cgroup
  if (plan.sandbox) how.jail = plan_jail(plan, dir);
  return VmmProcess::spawn(how);
}

Status VmBackend::spawn(runtime::Creation& c) {
  if (spare_) {
    // Already running, restored and warm: the core records it and puts it in the cgroup while
    // the guest creates the container (its first cgroup move waits for an RCU grace period:
    // about 6 ms, measured with strace), so the plan goes now.
    vmm_ = VmmProcess::adopt(spare_->vmm, std::move(spare_->vmm_pidfd), spare_->dir, spare_->dir + "/vmm.log");
    ctl_ = std::move(spare_->ctl);
    log::step("spare taken");
    auto st = start_spare(c);
    if (st) {
      c.child = vmm_.hand_to_container();
      return ok();
    }
    // Its VMM went since the keeper offered it (killed, or out of memory): the template's path.
    give_up_spare(c, st.error());
    vmm_ = VmmProcess();  // an adopted VMM is never killed by this object
  }
  vmm_ = OCL_TRY(spawn_held(c, restore_plan_ ? *restore_plan_ : plan_, restore_plan_.has_value()));
  c.child = vmm_.hand_to_container();  // the core's to kill from here on
  log::step("VMM forked");
  return ok();
}

// On the host the VMM is limited as a whole: its memory (guest RAM plus QEMU's own) and the
// container's cpu limits. pids and devices are enforced inside the guest, where the processes are.
std::optional<spec::Resources> VmBackend::host_resources(const runtime::Creation& c) const {
  spec::Resources host;
  const auto& cfg = c.b.config;
  const auto* r = cfg.linux && cfg.linux->resources ? &*cfg.linux->resources : nullptr;
  bool any = false;
  if (r && r->memory && r->memory->limit && *r->memory->limit > 0) {
    host.memory.emplace();
    host.memory->limit = static_cast<int64_t>(plan_.memory_mib + kVmmOverheadMiB) << 20;
    any = true;
  }
  if (r && r->cpu) {
    host.cpu = r->cpu;
    any = true;
  }
  if (!any) return std::nullopt;
  return host;
}

Status VmBackend::respawn(runtime::Creation& c, const VmPlan& plan, bool restore) {
  if (c.child > 0 && !vmm_.exited()) {
    ::kill(c.child, SIGKILL);
    while (::waitpid(c.child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  c.child = 0;
  ctl_.reset();
  ctl_frames_.reset();
  vmm_ = OCL_TRY(spawn_held(c, plan, restore));
  return c.adopt(vmm_.hand_to_container());
}

// The guest plan's per-container part: a guest restored from a template has the template's id,
// clock and random state, and takes these instead.
std::string VmBackend::plan_frame(const std::string& id) {
  GuestPlan gp = gp_;
  gp.id = id;
  gp.seed = random_hex(32);
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  gp.host_time_ns = static_cast<int64_t>(rt.tv_sec) * 1000000000 + rt.tv_nsec;
  return encode_guest_plan(gp);
}

Status VmBackend::restore_template(runtime::Creation& c, const Deadlines& d) {
  // The VMM waits, paused, for the template's device state; the guest runs when it is in.
  auto run = [&]() -> Status {
    Qmp q = OCL_TRY(Qmp::connect(c.store.dir(c.o.id), "qmp.sock", vmm_.pid(), d.monitor_ms));
    log::step("VMM's monitor up");
    OCL_TRY(
        q.execute("migrate-set-capabilities", R"({"capabilities":[{"capability":"x-ignore-shared","state":true}]})"));
    OCL_TRY(q.execute("migrate-incoming", R"({"uri":"fd:5"})"));
    log::step("template restore under way");
    return ok();
  };
  auto st = run();
  if (st) return st;
  if (vmm_.exited()) c.child = 0;
  if (st.error().code == ETIMEDOUT) return Error{ETIMEDOUT, "restore the VM template: " + st.error().msg};
  return vmm_.failure("restore the VM template: " + st.error().msg);
}

Status VmBackend::boot(runtime::Creation& c, const VmPlan& plan, bool restore) {
  Deadlines d = deadlines(plan.kvm);
  OCL_CHECK(vmm_.release());  // in the container's cgroup now
  int64_t t0 = monotonic_ms();
  if (restore) OCL_CHECK(restore_template(c, d));
  auto ctl = vmm_.connect(kCtlSocket, d.vmm_socket_ms, "waiting for the VMM's control socket");
  if (!ctl) {
    if (vmm_.exited()) c.child = 0;
    return std::move(ctl).error();
  }
  ctl_ = std::move(*ctl);
  log::step("control port connected");
  return await_ready(c, plan, t0,
                     restore ? "restored from template " + fs::basename(template_->dir) : std::string("booted cold"));
}

Status VmBackend::send_plan(runtime::Creation& c) {
  ctl_frames_.emplace(ctl_.get());
  OCL_CHECK(send_frame(ctl_.get(), FrameType::plan, plan_frame(c.o.id)));
  if (c.start_follows) OCL_CHECK(send_frame(ctl_.get(), FrameType::start));
  log::step("plan sent");
  return ok();
}

Status VmBackend::await_ready(runtime::Creation& c, const VmPlan& plan, int64_t t0, const std::string& how) {
  Deadlines d = deadlines(plan.kvm);
  if (!ctl_frames_) OCL_CHECK(send_plan(c));
  auto f = ctl_frames_->read(d.ready_ms, vmm_.child_pid());
  if (!f) {
    if (vmm_.exited()) c.child = 0;
    if (f.error().code == ETIMEDOUT)
      return Error{ETIMEDOUT, "the guest did not get ready in " + std::to_string(d.ready_ms / 1000) +
                                  " s (booting and creating the container under " + (plan.kvm ? "KVM" : "TCG") + ")"};
    return vmm_.failure(
        "the guest stopped before the container was created (OCELOT_VM_CONSOLE=FILE shows its console)");
  }
  log::step("guest answered");
  if (f->type == FrameType::error) return Error::make("in the VM: " + f->payload);
  if (f->type != FrameType::ready)
    return Error::make(std::string("the guest sent \"") + frame_type_name(f->type) + "\" instead of \"ready\"");
  log::debug("VM " + c.o.id + ": guest " + how + " and container created in " + std::to_string(monotonic_ms() - t0) +
             " ms (" + (plan.kvm ? "KVM" : "TCG") + ")");
  return ok();
}

// A boot failure that a fallback may cure: the VMM went (EPIPE) or a step timed out.
static bool may_fall_back(const Error& e) { return e.code == EPIPE || e.code == ETIMEDOUT; }

// The guest's container is created; then the host's prestart and createRuntime hooks run, with
// the VMM as the state's pid (the process that holds the container). A failing hook fails the
// create: the core kills the VMM and removes what was made.
Status VmBackend::complete(runtime::Creation& c) {
  OCL_CHECK(boot_with_fallbacks(c));
  return runtime::run_create_hooks(c);
}

Status VmBackend::boot_with_fallbacks(runtime::Creation& c) {
  if (spare_) {
    auto st = boot_spare(c);
    if (st || !may_fall_back(st.error())) return st;
    give_up_spare(c, st.error());
    OCL_CHECK(respawn(c, *restore_plan_, true));
  }
  bool restore = restore_plan_.has_value();
  auto st = boot(c, restore ? *restore_plan_ : plan_, restore);
  if (!st && restore && may_fall_back(st.error())) {
    // A template that does not restore is stale or damaged: discarded (the next use builds it
    // again). A slow one (a busy host) is kept. Either way this guest boots cold.
    if (st.error().code == EPIPE) {
      log::debug("VM template " + template_->dir + " did not restore (" + st.error().msg + "): discarded, cold boot");
      discard_template(*template_);
    } else {
      log::debug("VM template restore timed out (" + st.error().msg + "): cold boot");
    }
    OCL_CHECK(respawn(c, plan_, false));
    st = boot(c, plan_, false);
  }
  if (!st && plan_.kvm && may_fall_back(st.error())) {
    // A /dev/kvm that cannot run the guest (nested virtualisation): QEMU says so, or the guest
    // never answers. TCG for this container; remembered for this host boot and QEMU when QEMU
    // said it, or when TCG then works (vm/vmm/image.h).
    Error kvm_error = std::move(st).error();
    bool evidence = kvm_failed_in_log(vmm_.log());
    plan_.kvm = false;
    OCL_CHECK(respawn(c, plan_, false));
    st = boot(c, plan_, false);
    if (evidence || st) {
      remember_kvm_broken(plan_.qemu, kvm_error.msg);
      notice_once("tcg",
                  "/dev/kvm could not run the guest (" + kvm_error.msg + "): using TCG on this host until it reboots");
    }
  }
  return st;
}

Error VmBackend::why_failed(runtime::Creation&, Error ours) noexcept {
  if (vmm_.exited()) return vmm_.failure("the VMM exited: " + ours.msg);
  return ours;
}

Status VmBackend::hand_over(runtime::Creation& c, runtime::Launched& out) {
  // The pool's next spare: now, or once run's start has gone through (it never competes with it).
  if (!c.start_follows) refill_pool();
  out.channel = std::move(ctl_);
  taps_.clear();  // the VMM has them: a tap goes when the VMM does
  if (!tty_master_.valid()) return ok();
  if (c.o.console_socket.empty()) {
    out.console_master = std::move(tty_master_);
    return ok();
  }
  UniqueFd sock = OCL_TRY(runtime::connect_console_socket(c.o.console_socket));
  OCL_CHECK_CTX(runtime::send_fd(sock.get(), tty_master_.get(), plan_.tty_path), "send the pty to the console socket");
  return watch_terminal_size(c);
}

// The caller resizes the terminal on the master it got (conmon does, on `podman attach` and on
// the user's own resizes); QEMU's tty port carries bytes only. A small host process takes the
// slave as its controlling terminal, so the kernel tells it of every resize (SIGWINCH), and
// passes each to the guest on the command port. It lives in the container's cgroup (delete ends
// it with the rest) and ends when the VMM does.
Status VmBackend::watch_terminal_size(runtime::Creation& c) {
  std::string dir = c.store.dir(c.o.id);
  UniqueFd vmm(static_cast<int>(::syscall(SYS_pidfd_open, vmm_.pid(), 0)));
  if (!vmm.valid()) return Error::last("watch the VMM");
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  sigaddset(&winch, SIGHUP);
  pid_t pid = ::fork();
  if (pid < 0) return Error::last("fork the terminal's size watcher");
  if (pid == 0) {
    // Nothing of create's: its connection to the VMM's control port held here would keep `start`
    // from connecting (QEMU serves one client at a time).
    int keep = vmm.get();
    if (keep > 3) ::syscall(SYS_close_range, 3U, static_cast<unsigned>(keep - 1), 0U);
    ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0U, 0U);
    ::sigprocmask(SIG_BLOCK, &winch, nullptr);
    ::setsid();
    for (int fd = 0; fd < 3; ++fd) {
      int null = ::open("/dev/null", O_RDWR);
      if (null >= 0 && null != fd) {
        ::dup2(null, fd);
        ::close(null);
      }
    }
    UniqueFd tty(::open(plan_.tty_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    UniqueFd sfd(::signalfd(-1, &winch, SFD_CLOEXEC));
    // Ours, taken from the VMM: QEMU, a session leader, made the slave its controlling terminal
    // when it opened it. Then the caller's resizes signalled QEMU, and closing the master would
    // hang QEMU up (SIGHUP ends it).
    if (!tty.valid() || !sfd.valid() || ::ioctl(tty.get(), TIOCSCTTY, 1) != 0) ::_exit(1);
    for (;;) {
      struct pollfd p[2] = {{sfd.get(), POLLIN, 0}, {vmm.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) ::_exit(1);
      if (p[1].revents) ::_exit(0);  // the VMM is gone
      struct signalfd_siginfo si;
      if (!(p[0].revents & POLLIN) || ::read(sfd.get(), &si, sizeof si) != sizeof si) continue;
      if (si.ssi_signo == SIGHUP) ::_exit(0);  // the caller closed the master
      auto cmd = connect_socket(dir, kCmdSocket);
      if (!cmd) continue;
      if (send_window_size(cmd->get(), tty.get())) (void)FrameChannel(cmd->get()).read(5000);
    }
  }
  // In the container's cgroup: delete kills it with the VMM if it has not gone yet.
  if (c.cg) (void)c.cg->add_process(pid);
  return ok();
}

// The taps go with our fds and the VMM; the redirects on the caller's interfaces are removed.
void VmBackend::undo(runtime::Creation& c) noexcept {
  if (spare_) drop_spare(c);
  taps_.clear();
  if (!joined_.empty()) (void)vm::detach_network(gp_.host_netns, joined_);
}

// -- the other commands ------------------------------------------------------------------------

// Sends "start" on the control connection (unless it went with the plan) and waits for "started".
Status VmBackend::start(const runtime::StateStore& store, const runtime::Stored& s, runtime::Launched* l) {
  UniqueFd own;
  bool sent = false;
  FrameChannel* frames = nullptr;
  std::optional<FrameChannel> fresh;
  if (l && l->channel.valid() && ctl_frames_) {
    frames = &*ctl_frames_;  // run: "start" went right behind the plan, on this connection
    sent = true;
  } else {
    own = OCL_TRY(connect_socket(store.dir(s.id), kCtlSocket));
    fresh.emplace(own.get());
    frames = &*fresh;
  }
  if (!sent) OCL_CHECK(send_frame(frames->fd(), FrameType::start));
  int started_ms = deadlines(false).started_ms;
  auto f = frames->read(started_ms);
  if (!f) {
    if (f.error().code == ETIMEDOUT)
      return Error{ETIMEDOUT, "the guest did not start the container in " + std::to_string(started_ms / 1000) + " s"};
    return std::move(f).error().wrap("start the guest's container");
  }
  if (f->type == FrameType::error) return Error::make("in the VM: " + f->payload);
  if (f->type != FrameType::started)
    return Error::make(std::string("the guest sent \"") + frame_type_name(f->type) + "\" instead of \"started\"");
  failpoint("start.fifo-written");
  ::unlink(store.fifo(s.id).c_str());
  if (l) refill_pool();  // run: this object created it
  return ok();
}

Result<int> VmBackend::wait(runtime::Launched& l, runtime::SignalBlock& signals) {
  UniqueFd sfd(::signalfd(-1, &signals.set(), SFD_CLOEXEC));
  int code = -1;
  bool vmm_gone = false, ctl_open = true;
  FrameChannel& ch = *ctl_frames_;
  // process.terminal without --console-socket: our stdin/stdout <-> the host pty master, raw.
  int master = l.console_master.valid() ? l.console_master.get() : -1;
  std::optional<runtime::RawStdin> raw;
  if (master >= 0) {
    raw.emplace();
    send_window_size(ch.fd(), 0);
  }
  bool stdin_open = master >= 0;
  while (code < 0 && !vmm_gone && ctl_open) {
    struct pollfd p[4] = {
        {ch.fd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}, {master, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    int n = ::poll(p, 4, -1);
    if (n < 0 && errno != EINTR) break;
    if (master >= 0 && (p[2].revents & (POLLIN | POLLHUP)) && !runtime::pump_fd(master, 1)) master = -1;
    if (stdin_open && (p[3].revents & (POLLIN | POLLHUP)) && !runtime::pump_fd(0, master)) stdin_open = false;
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          if (vmm_.exited()) vmm_gone = true;
        } else if (sig == SIGWINCH) {
          if (master >= 0) send_window_size(ch.fd(), 0);
        } else {
          (void)send_frame(ch.fd(), FrameType::kill, std::to_string(sig));
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
  if (!vmm_gone && code >= 0) ::kill(vmm_.pid(), SIGKILL);
  for (int64_t end = monotonic_ms() + 5000; !vmm_gone && monotonic_ms() < end;) {
    if (vmm_.exited()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (master >= 0) {
    struct pollfd q = {master, POLLIN, 0};
    while (::poll(&q, 1, 50) > 0 && (q.revents & POLLIN) && runtime::pump_fd(master, 1)) {
    }
  }
  if (spare_keeper_.valid()) {
    // A spare's output comes through its keeper: it exits once it has passed on the last of it.
    struct pollfd q = {spare_keeper_.get(), POLLIN, 0};
    (void)::poll(&q, 1, 5000);
  }
  raw.reset();
  seek_stdio_to_end();
  if (code < 0) return Error::make("the VM stopped without reporting the container's exit status");
  return code;
}

namespace {

// One exec port, held: its lock (flock, so a process that dies frees it) and the connection.
struct ExecSession {
  UniqueFd lock, conn;
};

// The first exec session whose lock is free. The lock stays held by this process, and by a
// detached exec's stand-in, for as long as the session's process runs.
Result<ExecSession> take_exec_session(const std::string& dir) {
  for (int i = 0; i < kExecSessions; ++i) {
    std::string path = dir + "/" + exec_lock_name(i);
    UniqueFd lock(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock.valid()) return Error::last("open " + quote(path));
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;
      return Error::last("lock " + quote(path));
    }
    auto conn = connect_socket(dir, exec_socket_name(i));
    if (!conn) return Error::make("container not running");
    return ExecSession{std::move(lock), std::move(*conn)};
  }
  return Error{EBUSY, "all " + std::to_string(kExecSessions) +
                          " exec sessions of the VM-isolated container are in use (a detached exec holds one while "
                          "its process runs)"};
}

void write_all(int fd, const std::string& d) {
  for (size_t off = 0; off < d.size();) {
    ssize_t w = ::write(fd, d.data() + off, d.size() - off);
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

// Until the guest says the process runs: its output so far to ours, a setup failure as exec's error.
Status await_exec_started(FrameChannel& ch) {
  int deadline_ms = 120000;  // the guest's runtime sets the process up: seconds under TCG on a busy host
  for (;;) {
    auto f = ch.read(deadline_ms);
    if (!f) {
      if (f.error().code == ETIMEDOUT) return Error{ETIMEDOUT, "the guest did not start the exec'd process in 120 s"};
      return Error::make("the VM stopped before the exec'd process started");
    }
    switch (f->type) {
      case FrameType::started: return ok();
      case FrameType::out: write_all(1, f->payload); break;
      case FrameType::err: write_all(2, f->payload); break;
      case FrameType::error: return Error::make("in the VM: " + f->payload);
      default: return Error::make(std::string("unexpected \"") + frame_type_name(f->type) + "\" from the guest");
    }
  }
}

}  // namespace

Result<int> VmBackend::exec(const runtime::StateStore& store, const runtime::Stored& s, spec::ContainerStatus st,
                            const runtime::ExecOptions& o) {
  if (o.preserve_fds > 0) return Error::make("exec: --preserve-fds is not supported for VM-isolated containers");
  if (st == spec::ContainerStatus::created) return Error::make("exec: a VM-isolated container must be started first");
  std::string process_text;
  if (!o.process_file.empty()) process_text = OCL_TRY(fs::read_file(o.process_file));
  bool terminal = exec_wants_terminal(o, process_text);
  OCL_CHECK(runtime::check_console_options(terminal, !o.console_socket.empty(), o.detach));
  runtime::SignalBlock signals;
  ExecSession session = OCL_TRY(take_exec_session(store.dir(s.id)));
  OCL_CHECK(send_frame(session.conn.get(), FrameType::exec, encode_exec(o, process_text)));
  FrameChannel ch(session.conn.get());
  OCL_CHECK(await_exec_started(ch));
  // The process runs in the guest. On the host something stands for it (signals in, its exit
  // status out): this exec, or a stand-in when detached or when the terminal is a console
  // socket's (the stand-in's controlling terminal, whose resizes it relays).
  if (!o.detach && o.console_socket.empty()) {
    if (!o.pid_file.empty())
      OCL_CHECK_CTX(fs::write_file_atomic(o.pid_file, std::to_string(::getpid())), "write pid file");
    std::optional<runtime::RawStdin> raw;
    if (terminal) raw.emplace();
    return relay_exec(ch, signals, {0, 1, 2, terminal ? 0 : -1});
  }
  std::string slave;
  if (terminal) {
    auto pty = OCL_TRY(runtime::open_host_pty());
    UniqueFd sock = OCL_TRY(runtime::connect_console_socket(o.console_socket));
    OCL_CHECK_CTX(runtime::send_fd(sock.get(), pty.first.get(), pty.second), "send the pty to the console socket");
    slave = pty.second;
  }
  pid_t standin = ::fork();
  if (standin < 0) return Error::last("fork the exec's stand-in");
  if (standin == 0) ::_exit(run_exec_standin(ch, signals, slave));
  if (!o.pid_file.empty()) {
    if (auto w = fs::write_file_atomic(o.pid_file, std::to_string(standin)); !w) {
      (void)send_frame(session.conn.get(), FrameType::kill, std::to_string(SIGKILL));
      return std::move(w).error().wrap("write pid file");
    }
  }
  if (o.detach) return 0;
  session.conn.reset();
  session.lock.reset();  // the stand-in holds both now
  int status = 0;
  while (::waitpid(standin, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The stand-in, in the child: its own session (out of the caller's process group; with a terminal,
// the host pty's slave becomes its controlling terminal, raw: the line discipline is the guest's
// pty's, and the caller's resizes arrive as SIGWINCH). Returns its exit code.
int VmBackend::run_exec_standin(FrameChannel& ch, runtime::SignalBlock& signals, const std::string& slave) {
  ::setsid();
  if (slave.empty()) {
    auto code = relay_exec(ch, signals, {0, 1, 2, -1});
    return code ? *code : 255;
  }
  UniqueFd tty(::open(slave.c_str(), O_RDWR | O_CLOEXEC));  // no O_NOCTTY: it becomes ours
  if (!tty.valid()) return 255;
  struct termios t;
  if (::tcgetattr(tty.get(), &t) == 0) {
    ::cfmakeraw(&t);
    ::tcsetattr(tty.get(), TCSANOW, &t);
  }
  auto code = relay_exec(ch, signals, {tty.get(), tty.get(), tty.get(), tty.get()});
  return code ? *code : 255;
}

// The started exec's process until it exits: input to it, its output out, our signals to it, our
// terminal's size changes (io.size: the terminal whose size it is, -1 for none); its exit code.
Result<int> VmBackend::relay_exec(FrameChannel& ch, runtime::SignalBlock& signals, ExecIo io) {
  int port = ch.fd();
  UniqueFd sfd(::signalfd(-1, &signals.set(), SFD_CLOEXEC));
  if (io.size >= 0) send_window_size(port, io.size);
  bool input_open = true;
  for (;;) {
    for (;;) {  // frames already read (while waiting for "started") first
      auto f = ch.poll_once();
      if (!f) return Error::make("the VM stopped before the exec'd process exited");
      if (!*f) break;
      switch ((*f)->type) {
        case FrameType::out: write_all(io.out, (*f)->payload); break;
        case FrameType::err: write_all(io.err, (*f)->payload); break;
        case FrameType::exit: return parse_code((*f)->payload);
        case FrameType::error: return Error::make("in the VM: " + (*f)->payload);
        default: return Error::make(std::string("unexpected \"") + frame_type_name((*f)->type) + "\" from the guest");
      }
    }
    struct pollfd p[3] = {{port, POLLIN, 0}, {sfd.get(), POLLIN, 0}, {input_open ? io.in : -1, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0 && errno != EINTR) return Error::last("poll");
    if (p[2].revents) input_open = relay_input(io.in, port);
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) != sizeof si || si.ssi_signo == SIGCHLD) continue;
      if (si.ssi_signo == SIGWINCH) {
        if (io.size >= 0) send_window_size(port, io.size);
      } else {
        (void)send_frame(port, FrameType::kill, std::to_string(si.ssi_signo));
      }
    }
  }
}

// run's terminal is ours: its size goes to the guest's pty (QEMU's tty port carries bytes only).
bool VmBackend::send_window_size(int ctl, int tty) {
  struct winsize ws;
  if (::ioctl(tty, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return false;
  return send_frame(ctl, FrameType::resize, encode_window_size(ws.ws_row, ws.ws_col)).ok();
}

// One read of the exec's input onto its port; false once it has ended (EOF, or no stdin at all),
// after telling the guest with an empty "in".
bool VmBackend::relay_input(int from, int port) {
  char buf[16384];
  ssize_t n;
  do n = ::read(from, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return true;
  if (n > 0) return send_frame(port, FrameType::in, std::string(buf, static_cast<size_t>(n))).ok();
  (void)send_frame(port, FrameType::in);
  return false;
}

Status VmBackend::command(const runtime::StateStore& store, const runtime::Stored& s, FrameType type,
                          const std::string& payload) {
  auto c = connect_socket(store.dir(s.id), kCmdSocket);
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

Status VmBackend::signal(const runtime::StateStore& store, const runtime::Stored& s, spec::ContainerStatus st, int sig,
                         bool all) {
  if (st == spec::ContainerStatus::stopped || st == spec::ContainerStatus::creating)
    return Error::make("container not running");
  return command(store, s, all ? FrameType::kill_all : FrameType::kill, std::to_string(sig));
}

Status VmBackend::update(const runtime::StateStore& store, const runtime::Stored& s, const spec::Resources& r) {
  return command(store, s, FrameType::update, spec::resources_to_json(r));
}

std::unique_ptr<runtime::Backend> make_vm_backend(const runtime::Globals& g) { return std::make_unique<VmBackend>(g); }

}  // namespace ocelot::vm
