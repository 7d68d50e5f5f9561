#include "vm/vm_container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <thread>

#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/console.h"
#include "runtime/state_store.h"
#include "runtime/supervise.h"
#include "spec/parse.h"
#include "spec/state.h"
#include "vm/channel.h"
#include "vm/exec_request.h"
#include "vm/guest_config.h"
#include "vm/image.h"
#include "vm/qemu.h"

namespace ocelot::vm {

namespace {

// Guest RAM beyond the container's memory limit: the guest kernel, its page cache and the agent
// (measured: the guest idles at about 60 MiB used).
constexpr unsigned kGuestHeadroomMiB = 96;
// Host memory of the VMM beyond guest RAM: QEMU itself and its TCG translation cache (tb-size=64).
constexpr unsigned kVmmOverheadMiB = 160;
constexpr unsigned kDefaultGuestMiB = 256;

int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = 0;
  return fs::dirname(buf);
}

// A regular file shared with QEMU through /proc/self/fd/N is a new open file description: its
// offset is QEMU's, not ours. Move ours (and so the caller's) past what QEMU appended.
void seek_stdio_to_end() {
  for (int fd : {1, 2}) {
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ::lseek(fd, 0, SEEK_END);
  }
}

// The TCG notice is said once per host (then only with --debug): stderr belongs to the workload.
void tcg_notice(const std::string& msg) {
  std::string marker = std::string(kVmCache) + "/tcg-notice-shown";
  if (fs::exists(marker)) {
    log::debug(msg);
    return;
  }
  log::info(msg);
  (void)fs::mkdir_p(kVmCache, 0755);
  (void)fs::write_file(marker, msg + "\n");
}

struct Booted {
  pid_t vmm = 0;
  UniqueFd ctl;
  UniqueFd tty_master;  // process.terminal under `run` without --console-socket: we proxy it
};

// A host pty for process.terminal: QEMU opens its slave as the guest's "ocelot.tty" port (raw:
// the line discipline is the guest pty's); the master goes to the console socket.
Result<std::pair<UniqueFd, std::string>> open_host_pty() {
  UniqueFd m(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!m.valid()) return Error::last("open a host pty");
  if (::grantpt(m.get()) != 0 || ::unlockpt(m.get()) != 0) return Error::last("unlock the host pty");
  char name[128];
  if (::ptsname_r(m.get(), name, sizeof name) != 0) return Error::last("ptsname");
  return std::make_pair(std::move(m), std::string(name));
}

// Undoes a failed create: the VMM, its cgroup and the state dir.
struct CreateUndo {
  runtime::StateStore* store = nullptr;
  std::string id;
  pid_t vmm = 0;
  std::optional<cgroups::Manager> cg;
  bool armed = true;
  void kill_vmm() {
    if (vmm <= 0) return;
    ::kill(vmm, SIGKILL);
    ::waitpid(vmm, nullptr, 0);
    vmm = 0;
  }
  ~CreateUndo() {
    if (!armed) return;
    kill_vmm();
    if (cg) (void)cg->destroy();
    (void)store->remove(id);
  }
};

Result<cgroups::Manager> vmm_cgroup(const spec::Config& cfg, const std::string& id) {
  auto layout = OCL_TRY(cgroups::detect_layout());
  auto own_text = fs::read_file("/proc/self/cgroup");
  auto own = cgroups::parse_proc_cgroup(own_text ? *own_text : "");
  auto paths = OCL_TRY(cgroups::resolve_paths(layout, cfg.linux ? cfg.linux->cgroups_path : "", id, own));
  cgroups::Manager m(layout, paths);
  OCL_CHECK_CTX(m.create(), "create cgroup");
  return m;
}

Status limit_vmm(cgroups::Manager& m, const spec::Config& cfg, unsigned guest_mib) {
  // On the host the VMM is limited as a whole: its memory (guest RAM plus QEMU's own) and the
  // container's cpu limits. pids and devices are enforced inside the guest, where the processes are.
  spec::Resources host;
  const auto* r = cfg.linux && cfg.linux->resources ? &*cfg.linux->resources : nullptr;
  if (r && r->memory && r->memory->limit && *r->memory->limit > 0) {
    host.memory.emplace();
    host.memory->limit = static_cast<int64_t>(guest_mib + kVmmOverheadMiB) << 20;
  }
  if (r && r->cpu) host.cpu = r->cpu;
  return m.apply(host);
}

Result<Booted> boot(const runtime::Globals& g, const runtime::CreateOptions& o, const VmOptions& vo, bool foreground) {
  OCL_CHECK(runtime::validate_id(o.id));
  char buf[PATH_MAX];
  if (!::realpath(o.bundle.c_str(), buf)) return Error::last("bundle \"" + o.bundle + "\"");
  std::string bundle = buf;
  auto text = fs::read_file(bundle + "/config.json");
  if (!text) return std::move(text).error().wrap("config.json");
  auto cfg = OCL_TRY(spec::parse_config(*text));
  if (!cfg.process) return Error::make("config.json: process: missing required field");
  if (cfg.process->terminal && !foreground && o.console_socket.empty())
    return Error::make("cannot allocate tty if ocelot will detach without setting console socket");
  GuestPlan gp = OCL_TRY(plan_guest(*text, bundle, fs::is_dir));
  if (!fs::is_dir(gp.shares[0].host_path)) return Error::sys(ENOENT, "rootfs \"" + gp.shares[0].host_path + "\"");
  for (const auto& w : gp.warnings) log::warn(w);

  std::string qemu = OCL_TRY(find_qemu());
  GuestKernel kernel = OCL_TRY(find_kernel(vo.kernel));
  std::string initrd = OCL_TRY(initramfs(self_dir() + "/ocelot-agent", kernel));

  VmPlan plan;
  plan.qemu = qemu;
  plan.kvm = kvm_usable();
  plan.kernel = kernel.image;
  plan.initrd = initrd;
  plan.tsc_khz = host_tsc_khz();
  plan.memory_mib = kDefaultGuestMiB;
  const auto* res = cfg.linux && cfg.linux->resources ? &*cfg.linux->resources : nullptr;
  if (res && res->memory && res->memory->limit && *res->memory->limit > 0)
    plan.memory_mib = static_cast<unsigned>((*res->memory->limit + (1 << 20) - 1) >> 20) + kGuestHeadroomMiB;
  if (res && res->cpu && res->cpu->quota && *res->cpu->quota > 0 && res->cpu->period && *res->cpu->period > 0) {
    int64_t period = static_cast<int64_t>(*res->cpu->period);
    plan.cpus = static_cast<unsigned>(std::clamp<int64_t>((*res->cpu->quota + period - 1) / period, 1, 64));
  }
  plan.shares = gp.shares;
  plan.ctl_socket = kCtlSocket;  // relative: QEMU runs in the state dir
  plan.sig_socket = kSigSocket;
  plan.exec_socket = kExecSocket;
  plan.stdout_path = "/proc/self/fd/3";
  plan.stderr_path = "/proc/self/fd/4";
  UniqueFd tty_master;
  if (cfg.process->terminal) {
    auto pty = OCL_TRY(open_host_pty());
    tty_master = std::move(pty.first);
    plan.tty_path = pty.second;
  }
  plan.extra_cmdline = "ocelot.id=" + o.id;
  if (const char* c = ::getenv("OCELOT_VM_CONSOLE"); c && *c) plan.console_log = c;
  if (const char* c = ::getenv("OCELOT_VM_KERNEL_ARGS"); c && *c) plan.extra_cmdline += std::string(" ") + c;

  runtime::StateStore store(g.root);
  UniqueFd lock = OCL_TRY(store.create_dir(o.id));
  CreateUndo undo;
  undo.store = &store;
  undo.id = o.id;
  std::string dir = store.dir(o.id);
  OCL_CHECK(fs::write_file(dir + "/config.json", *text, 0600));
  // The "created" marker (exec.fifo's place for containers): start removes it.
  OCL_CHECK(fs::write_file(store.fifo(o.id), "", 0600));
  undo.cg.emplace(OCL_TRY(vmm_cgroup(cfg, o.id)));
  OCL_CHECK_CTX(limit_vmm(*undo.cg, cfg, plan.memory_mib), "apply cgroup resources");

  std::string log_path = dir + "/vmm.log";
  // One boot: QEMU's own messages go to vmm.log; the caller's stdout and stderr become its fds 3
  // and 4, where the guest's ocelot.out/ocelot.err ports write.
  auto attempt = [&](const VmPlan& pl, int ready_timeout_ms) -> Result<Booted> {
    auto argv_s = qemu_argv(pl);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::unlink((dir + "/" + kCtlSocket).c_str());
    ::unlink((dir + "/" + kSigSocket).c_str());
    int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0) return Error::last("create \"" + log_path + "\"");
    UniqueFd log_owner(logfd);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return Error::last("fork the VMM");
    if (pid == 0) {
      // The VMM: in the container's cgroup, in the state dir, in its own session; under `run`
      // it dies with us (nothing may outlive a foreground run).
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (foreground) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
      }
      ::setsid();
      if (!undo.cg->add_process(::getpid()) || ::chdir(dir.c_str()) != 0) ::_exit(126);
      // Every source fd is first moved above the targets, so no dup2 overwrites another's source.
      int o3 = ::fcntl(1, F_DUPFD, 10), o4 = ::fcntl(2, F_DUPFD, 10), lg = ::fcntl(logfd, F_DUPFD, 10);
      int nul = ::open("/dev/null", O_RDONLY);
      if (nul >= 0 && nul < 10) nul = ::fcntl(nul, F_DUPFD, 10);
      if (o3 < 0 || o4 < 0 || lg < 0 || nul < 0 || ::dup2(o3, 3) < 0 || ::dup2(o4, 4) < 0 || ::dup2(nul, 0) < 0 ||
          ::dup2(lg, 1) < 0 || ::dup2(lg, 2) < 0)
        ::_exit(126);
      ::close_range(5, ~0U, 0);
      ::execv(pl.qemu.c_str(), argv.data());
      ::_exit(127);
    }
    undo.vmm = pid;
    Booted b;
    b.vmm = pid;
    int64_t t0 = now_ms();
    auto vmm_error = [&](const std::string& what) {
      auto log = fs::read_file(log_path);
      std::string first = log ? log->substr(0, log->find('\n')) : "";
      return Error::make(what + (first.empty() ? "" : ": " + first));
    };
    for (int64_t end = now_ms() + 10000;;) {
      auto c = connect_socket(dir, kCtlSocket);
      if (c) {
        b.ctl = std::move(*c);
        break;
      }
      int st;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        undo.vmm = 0;
        return vmm_error("the VMM (" + pl.qemu + ") exited before the guest started");
      }
      if (now_ms() > end) return Error::make("timed out waiting for the VMM's control socket");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::string enc = encode_guest_plan(gp);
    OCL_CHECK(send_line(b.ctl.get(), "plan " + std::to_string(enc.size())));
    OCL_CHECK(send_line(b.ctl.get(), enc));
    std::string l = read_line(b.ctl.get(), ready_timeout_ms, pid);
    if (l.rfind("error ", 0) == 0) return Error::make("in the VM: " + l.substr(6));
    if (l == "ready") {
      log::debug("VM " + o.id + ": guest booted and container created in " + std::to_string(now_ms() - t0) + " ms (" +
                 (pl.kvm ? "KVM" : "TCG") + ")");
      return b;
    }
    pid_t r = ::waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      undo.vmm = 0;
      return vmm_error("the guest stopped before the container was created (OCELOT_VM_CONSOLE=FILE shows its console)");
    }
    return Error{ETIMEDOUT, "the guest did not get ready in " + std::to_string(ready_timeout_ms / 1000) + " s"};
  };
  if (!plan.kvm) tcg_notice("no usable /dev/kvm: the guest runs under QEMU's TCG software emulation");
  auto booted = attempt(plan, plan.kvm ? 10000 : 120000);
  auto kvm_failed = [&](const Error& e) {
    if (e.code == ETIMEDOUT) return true;  // QEMU pauses a guest KVM cannot emulate
    auto log = fs::read_file(log_path);
    return log && log->find("KVM") != std::string::npos;
  };
  if (!booted && plan.kvm && kvm_failed(booted.error())) {
    // A /dev/kvm that cannot run the guest (seen with nested virtualisation): remember it and
    // boot under TCG.
    undo.kill_vmm();
    remember_kvm_broken(booted.error().msg);
    tcg_notice("/dev/kvm could not run the guest (" + booted.error().msg + "): using TCG from now on");
    plan.kvm = false;
    booted = attempt(plan, 120000);
  }
  if (!booted) return std::move(booted).error();

  runtime::Stored s;
  s.id = o.id;
  s.pid = booted->vmm;
  s.pid_start = OCL_TRY(runtime::process_start_time(booted->vmm));
  s.bundle = bundle;
  s.rootfs = gp.shares[0].host_path;
  s.created = spec::now_rfc3339_nano();
  s.owner = "root";
  s.annotations = cfg.annotations;
  s.cgroup_paths = undo.cg->paths();
  s.isolation = "vm";
  OCL_CHECK(store.save(s));
  if (!o.pid_file.empty()) OCL_CHECK(fs::write_file_atomic(o.pid_file, std::to_string(booted->vmm)));
  if (tty_master.valid()) {
    if (!o.console_socket.empty()) {
      UniqueFd sock = OCL_TRY(runtime::connect_console_socket(o.console_socket));
      OCL_CHECK_CTX(runtime::send_fd(sock.get(), tty_master.get(), plan.tty_path), "send the pty to the console socket");
    } else {
      booted->tty_master = std::move(tty_master);
    }
  }
  undo.armed = false;
  return booted;
}

// Sends "start" and waits for "started". c: an open control connection, or none (connects).
Status start_on(runtime::StateStore& store, const std::string& id, int c) {
  OCL_CHECK(send_line(c, "start"));
  std::string l = read_line(c, 60000, 0);
  if (l.rfind("error ", 0) == 0) return Error::make("in the VM: " + l.substr(6));
  if (l != "started") return Error::make("the guest did not start the container");
  ::unlink(store.fifo(id).c_str());
  return ok();
}

Status check_startable(runtime::StateStore& store, const runtime::Stored& s) {
  std::string status = runtime::container_status(store, s);
  if (status == "stopped") return Error::make("cannot start a container that has stopped");
  if (status != "created") return Error::make("cannot start an already running container");
  return ok();
}

}  // namespace

bool bundle_wants_vm(const std::string& bundle) {
  // On every container create: a substring search spares the container path a second parse.
  auto text = fs::read_file(bundle + "/config.json");
  if (!text || text->find(kIsolationAnnotation) == std::string::npos) return false;
  auto c = spec::parse_config(*text);
  if (!c) return false;
  auto it = c->annotations.find(kIsolationAnnotation);
  return it != c->annotations.end() && it->second == "vm";
}

bool is_vm_container(const runtime::Globals& g, const std::string& id) {
  runtime::StateStore store(g.root);
  auto s = store.load(id);
  return s && s->isolation == "vm";
}

Status vm_create(const runtime::Globals& g, const runtime::CreateOptions& o, const VmOptions& vo) {
  auto b = boot(g, o, vo, false);
  if (!b) return std::move(b).error();
  return ok();
}

Status vm_start(const runtime::Globals& g, const std::string& id) {
  runtime::StateStore store(g.root);
  UniqueFd lock = OCL_TRY(store.lock(id));
  auto s = OCL_TRY(store.load(id));
  OCL_CHECK(check_startable(store, s));
  UniqueFd c = OCL_TRY(connect_socket(store.dir(id), kCtlSocket));
  return start_on(store, id, c.get());
}

Result<int> vm_run(const runtime::Globals& g, const runtime::CreateOptions& o, const VmOptions& vo, bool detach, bool keep) {
  // Signals are blocked from before the VMM exists, so none is lost; the VMM unblocks its own.
  runtime::SignalBlock signals;
  Booted b = OCL_TRY(boot(g, o, vo, !detach));
  runtime::StateStore store(g.root);
  auto started = start_on(store, o.id, b.ctl.get());
  if (!started) {
    (void)runtime::delete_container(g, o.id, true);
    return std::move(started).error();
  }
  if (detach) return 0;
  UniqueFd sfd(::signalfd(-1, &signals.set(), SFD_CLOEXEC));
  int code = -1;
  std::string buf;
  bool vmm_gone = false;
  // process.terminal without --console-socket: our stdin/stdout <-> the host pty master, raw.
  int master = b.tty_master.valid() ? b.tty_master.get() : -1;
  std::optional<runtime::RawStdin> raw;
  if (master >= 0) raw.emplace();
  bool stdin_open = master >= 0;
  auto pump = runtime::pump_fd;
  while (code < 0 && !vmm_gone) {
    struct pollfd p[4] = {{b.ctl.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}, {master, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    int n = ::poll(p, 4, -1);
    if (master >= 0 && (p[2].revents & (POLLIN | POLLHUP)) && !pump(master, 1)) master = -1;
    if (stdin_open && (p[3].revents & (POLLIN | POLLHUP)) && !pump(0, master)) stdin_open = false;
    if (n < 0 && errno != EINTR) break;
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
          int st;
          if (::waitpid(b.vmm, &st, WNOHANG) == b.vmm) vmm_gone = true;
        } else if (sig != SIGWINCH) {
          (void)send_line(b.ctl.get(), "kill " + std::to_string(sig));
        }
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      char c[256];
      ssize_t r = ::read(b.ctl.get(), c, sizeof c);
      if (r <= 0) break;
      buf.append(c, static_cast<size_t>(r));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string l = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (l.rfind("exit ", 0) == 0) code = std::atoi(l.c_str() + 5);
      }
    }
  }
  // The guest powers off after "exit": reap the VMM, so its last output is written.
  if (!vmm_gone) {
    for (int64_t end = now_ms() + 5000; now_ms() < end;) {
      pid_t r = ::waitpid(b.vmm, nullptr, WNOHANG);
      if (r == b.vmm || (r < 0 && errno == ECHILD)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  if (master >= 0) {
    struct pollfd q = {master, POLLIN, 0};
    while (::poll(&q, 1, 50) > 0 && (q.revents & POLLIN) && pump(master, 1)) {
    }
  }
  raw.reset();
  seek_stdio_to_end();
  if (!keep) (void)runtime::delete_container(g, o.id, true);
  if (code < 0) return Error::make("the VM stopped without reporting the container's exit status");
  return code;
}

Result<int> vm_exec(const runtime::Globals& g, const runtime::ExecOptions& o) {
  if (o.tty) return Error::make("exec: --tty is not supported for VM-isolated containers yet");
  if (o.detach) return Error::make("exec: --detach is not supported for VM-isolated containers yet");
  if (!o.pid_file.empty()) return Error::make("exec: --pid-file is not supported for VM-isolated containers (the process is in the guest)");
  if (o.preserve_fds > 0) return Error::make("exec: --preserve-fds is not supported for VM-isolated containers");
  if (!o.console_socket.empty()) return Error::make("exec: --console-socket is not supported for VM-isolated containers yet");
  runtime::StateStore store(g.root);
  auto s = OCL_TRY(store.load(o.id));
  std::string status = runtime::container_status(store, s);
  if (status != "running" && !(status == "paused" && o.ignore_paused))
    return Error::make(status == "paused" ? "cannot exec in a paused container (use --ignore-paused to override)"
                                           : "cannot exec in a stopped container");
  std::string process_text;
  if (!o.process_file.empty()) process_text = OCL_TRY(fs::read_file(o.process_file));
  runtime::SignalBlock signals;
  UniqueFd c = OCL_TRY(connect_socket(store.dir(o.id), kExecSocket));
  OCL_CHECK(send_line(c.get(), "exec " + encode_exec(o, process_text)));
  UniqueFd sfd(::signalfd(-1, &signals.set(), SFD_CLOEXEC));
  // Frames: "o N\n" / "e N\n" + N bytes, then "exit C" or "error MSG".
  std::string buf;
  for (;;) {
    size_t nl = buf.find('\n');
    if (nl != std::string::npos) {
      std::string head = buf.substr(0, nl);
      if (head.rfind("exit ", 0) == 0) return std::atoi(head.c_str() + 5);
      if (head.rfind("error ", 0) == 0) return Error::make("in the VM: " + head.substr(6));
      if (head.size() > 2 && (head[0] == 'o' || head[0] == 'e') && head[1] == ' ') {
        size_t n = std::strtoul(head.c_str() + 2, nullptr, 10);
        if (buf.size() >= nl + 1 + n) {
          int fd = head[0] == 'o' ? 1 : 2;
          const char* d = buf.data() + nl + 1;
          for (size_t off = 0; off < n;) {
            ssize_t w = ::write(fd, d + off, n - off);
            if (w <= 0) break;
            off += static_cast<size_t>(w);
          }
          buf.erase(0, nl + 1 + n);
          continue;
        }
      } else {
        return Error::make("unexpected message from the guest: \"" + head + "\"");
      }
    }
    struct pollfd p[2] = {{c.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return Error::last("poll");
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
        (void)send_line(c.get(), "kill " + std::to_string(si.ssi_signo));
    }
    if (p[0].revents & (POLLIN | POLLHUP)) {
      char tmp[16384];
      ssize_t r = ::read(c.get(), tmp, sizeof tmp);
      if (r <= 0) return Error::make("the VM stopped before the exec'd process exited");
      buf.append(tmp, static_cast<size_t>(r));
    }
  }
}

Status vm_kill(const runtime::Globals& g, const std::string& id, int sig) {
  runtime::StateStore store(g.root);
  auto s = OCL_TRY(store.load(id));
  if (runtime::container_status(store, s) == "stopped") return Error::make("container not running");
  auto c = connect_socket(store.dir(id), kSigSocket);
  if (!c) return Error::make("container not running");
  return send_line(c->get(), "kill " + std::to_string(sig));
}

}  // namespace ocelot::vm
