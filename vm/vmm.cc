#include "vm/vmm.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <thread>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "runtime/console.h"
#include "runtime/safe_exe.h"
#include "runtime/state_store.h"
#include "spec/parse.h"
#include "spec/state.h"
#include "vm/channel.h"
#include "vm/guest_config.h"
#include "vm/image.h"
#include "vm/qemu.h"
#include "vm/qmp.h"
#include "vm/template.h"

namespace ocelot::vm {

namespace {

// Guest RAM beyond the container's memory limit: the guest kernel, its page cache and the agent
// (measured: the guest idles at about 60 MiB used).
constexpr unsigned kGuestHeadroomMiB = 96;
// Host memory of the VMM beyond guest RAM: QEMU itself and its TCG translation cache (tb-size=64).
constexpr unsigned kVmmOverheadMiB = 160;
constexpr unsigned kDefaultGuestMiB = 256;

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

// Undoes a failed create: the VMM, its cgroup and the state dir.
struct CreateUndo {
  runtime::StateStore* store = nullptr;
  std::string id;
  pid_t vmm = 0;
  std::unique_ptr<cgroups::Manager> cg;
  bool owned = true;
  bool armed = false;
  void kill_vmm() {
    if (vmm <= 0) return;
    ::kill(vmm, SIGKILL);
    ::waitpid(vmm, nullptr, 0);
    vmm = 0;
  }
  ~CreateUndo() {
    if (!armed) return;
    kill_vmm();
    if (cg && owned) (void)cgroups::destroy(*cg);
    (void)store->remove(id);
  }
};

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
  return m.apply(host, {});
}

// Starts the guest from a VM template (vm/template.h) through `attempt`. nullopt: boot cold, for
// the reason said under --debug (no template fits this plan, or it could not be built, or it did
// not restore: then it is discarded and the next use builds it again).
template <class Attempt>
std::optional<Result<Booted>> try_template(const VmPlan& plan, Attempt&& attempt) {
  if (auto why = template_unfit(plan); !why.empty()) {
    log::debug("VM template not used (" + why + "): cold boot");
    return std::nullopt;
  }
  auto empty = template_empty_dir();
  if (!empty) {
    log::debug(empty.error().msg + ": cold boot");
    return std::nullopt;
  }
  VmPlan pl = with_template_slots(plan, *empty);
  bool built = false;
  int64_t t0 = monotonic_ms();
  auto t = ensure_template(pl, *empty, &built);
  if (!t) {
    log::debug(t.error().msg + ": cold boot");
    return std::nullopt;
  }
  log::step("template found");
  if (built) log::debug("VM template built in " + std::to_string(monotonic_ms() - t0) + " ms: " + t->dir);
  pl.ram_file = t->ram();
  pl.ram_shared = false;  // copy on write: the template never changes
  pl.qmp_socket = "qmp.sock";
  pl.incoming = true;
  pl.template_build = true;  // the same kernel command line as the saved guest's
  auto b = attempt(pl, *t);
  if (!b && b.error().code == EPIPE) {
    log::debug("VM template " + t->dir + " did not restore (" + b.error().msg + "): discarded, cold boot");
    discard_template(*t);
    return std::nullopt;
  }
  return b;
}

}  // namespace

Result<Booted> boot_vm(const runtime::Globals& g, const runtime::CreateOptions& o, bool foreground,
                       bool start_follows) {
  OCL_CHECK(runtime::validate_id(o.id));
  char buf[PATH_MAX];
  if (!::realpath(o.bundle.c_str(), buf)) return Error::last("bundle " + quote(o.bundle));
  std::string bundle = buf;
  auto text = fs::read_file(bundle + "/config.json");
  if (!text) return std::move(text).error().wrap("config.json");
  auto cfg_r = spec::parse_config(*text);
  if (!cfg_r) return std::move(cfg_r).error().wrap("config.json");
  spec::Config cfg = std::move(*cfg_r);
  if (!cfg.process) return Error::make("config.json: process: missing required field");
  if (cfg.process->terminal && !foreground && o.console_socket.empty())
    return Error::make("cannot allocate tty if ocelot will detach without setting console socket");
  GuestPlan gp = OCL_TRY(plan_guest(*text, bundle, fs::is_dir));
  if (!fs::is_dir(gp.shares[0].host_path)) return Error::sys(ENOENT, "rootfs " + quote(gp.shares[0].host_path));
  for (const auto& w : gp.warnings) log::warn(w);

  std::string qemu = OCL_TRY(find_qemu());
  GuestKernel kernel = OCL_TRY(find_kernel(g.vm_kernel));
  std::string initrd = OCL_TRY(initramfs(fs::dirname(runtime::self_path()) + "/ocelot-agent", kernel));
  log::step("guest image found");

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
  plan.cmd_socket = kCmdSocket;
  plan.exec_socket = kExecSocket;
  plan.stdout_path = "/proc/self/fd/3";
  plan.stderr_path = "/proc/self/fd/4";
  UniqueFd tty_master;
  if (cfg.process->terminal) {
    // QEMU opens the slave as the guest's "ocelot.tty" port (raw: the line discipline is the
    // guest pty's); the master goes to the console socket.
    auto pty = OCL_TRY(runtime::open_host_pty());
    tty_master = std::move(pty.first);
    plan.tty_path = pty.second;
  }
  // The id goes in the plan frame (a template's kernel command line is the template's).
  if (const char* c = ::getenv("OCELOT_VM_CONSOLE"); c && *c) plan.console_log = c;
  if (const char* c = ::getenv("OCELOT_VM_KERNEL_ARGS"); c && *c) plan.extra_cmdline = c;

  runtime::StateStore store(g.root);
  UniqueFd lock = OCL_TRY(store.create_dir(o.id));
  CreateUndo undo;
  undo.store = &store;
  undo.id = o.id;
  undo.armed = true;
  std::string dir = store.dir(o.id);
  auto layout = OCL_TRY(cgroups::detect_layout());
  auto own_text = fs::read_file("/proc/self/cgroup");
  auto paths = OCL_TRY(cgroups::resolve_paths(layout, cfg.linux ? cfg.linux->cgroups_path : "", o.id,
                                              cgroups::parse_proc_cgroup(own_text ? *own_text : "")));
  undo.cg = cgroups::make_manager(layout, paths);
  undo.owned = !undo.cg->occupied();
  runtime::Stored s;
  s.id = o.id;
  s.phase = spec::ContainerStatus::creating;
  s.creator = OCL_TRY(runtime::process_ref(::getpid()));
  s.bundle = bundle;
  s.rootfs = gp.shares[0].host_path;
  s.created = spec::now_rfc3339_nano();
  s.isolation = runtime::IsolationKind::vm;
  s.cgroup_paths = paths;
  s.cgroup_owned = undo.owned;
  OCL_CHECK(store.save(s));
  std::string without_annotations;
  (void)spec::parse_config(*text, without_annotations);
  OCL_CHECK(store.save_config(o.id, without_annotations, cfg.annotations));
  // The "created" marker (exec.fifo's place for containers): start removes it.
  OCL_CHECK(fs::write_file(store.fifo(o.id), "", 0600));
  OCL_CHECK_CTX(undo.cg->create(), "create cgroup");
  OCL_CHECK_CTX(limit_vmm(*undo.cg, cfg, plan.memory_mib), "apply cgroup resources");
  log::step("state and cgroup ready");

  std::string log_path = dir + "/vmm.log";
  // One boot: QEMU's own messages go to vmm.log; the caller's stdout and stderr become its fds 3
  // and 4, where the guest's ocelot.out/ocelot.err ports write.
  // tpl: restore this template instead of booting (pl is then the restore's plan).
  auto attempt = [&](const VmPlan& pl, int ready_timeout_ms, const Template* tpl) -> Result<Booted> {
    auto argv_s = qemu_argv(pl);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto env_s = vmm_environment(environ);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::unlink((dir + "/" + kCtlSocket).c_str());
    ::unlink((dir + "/" + kCmdSocket).c_str());
    ::unlink((dir + "/" + kExecSocket).c_str());
    ::unlink((dir + "/qmp.sock").c_str());
    UniqueFd state;
    if (tpl) {
      state.reset(::open(tpl->state().c_str(), O_RDONLY | O_CLOEXEC));
      if (!state.valid()) return Error{EPIPE, "open the template's state: " + errno_text(errno)};
    }
    int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (logfd < 0) return Error::last("create " + quote(log_path));
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
      // A restore reads the saved device state from fd 5 ("fd:5").
      if (state.valid() && ::dup2(::fcntl(state.get(), F_DUPFD, 10), 5) < 0) ::_exit(126);
      int nul = ::open("/dev/null", O_RDONLY);
      if (nul >= 0 && nul < 10) nul = ::fcntl(nul, F_DUPFD, 10);
      if (o3 < 0 || o4 < 0 || lg < 0 || nul < 0 || ::dup2(o3, 3) < 0 || ::dup2(o4, 4) < 0 || ::dup2(nul, 0) < 0 ||
          ::dup2(lg, 1) < 0 || ::dup2(lg, 2) < 0)
        ::_exit(126);
      ::close_range(state.valid() ? 6 : 5, ~0U, 0);
      ::execve(pl.qemu.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    undo.vmm = pid;
    log::step("VMM forked");
    auto ref = runtime::process_ref(pid);
    s.init = ref ? *ref : runtime::ProcessRef{pid, 0};
    OCL_CHECK(store.save(s));
    Booted b;
    b.vmm = pid;
    int64_t t0 = monotonic_ms();
    auto vmm_error = [&](const std::string& what) {
      auto log = fs::read_file(log_path);
      std::string first = log ? log->substr(0, log->find('\n')) : "";
      return Error{EPIPE, what + (first.empty() ? "" : ": " + first)};
    };
    if (tpl) {
      // The VMM waits, paused, for the template's device state; the guest runs when it is in.
      auto restore = [&]() -> Status {
        Qmp q = OCL_TRY(Qmp::connect(dir, "qmp.sock", pid, 10000));
        log::step("VMM's monitor up");
        OCL_TRY(q.execute("migrate-set-capabilities",
                          R"({"capabilities":[{"capability":"x-ignore-shared","state":true}]})"));
        OCL_TRY(q.execute("migrate-incoming", R"({"uri":"fd:5"})"));
        log::step("template restore under way");
        return {};
      };
      if (auto st = restore(); !st) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) undo.vmm = 0;
        return vmm_error("restore the VM template: " + st.error().msg);
      }
    }
    for (int64_t end = monotonic_ms() + 10000;;) {
      auto c = connect_socket(dir, kCtlSocket);
      if (c) {
        b.ctl = std::move(*c);
        log::step("control port connected");
        break;
      }
      int st;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        undo.vmm = 0;
        return vmm_error("the VMM (" + pl.qemu + ") exited before the guest started");
      }
      if (monotonic_ms() > end) return Error{ETIMEDOUT, "timed out waiting for the VMM's control socket"};
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // The id, the clock and a random seed: a guest from a template has only the template's.
    gp.id = o.id;
    unsigned char seed[32];
    if (::getrandom(seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) return Error::last("getrandom");
    static const char* hex = "0123456789abcdef";
    gp.seed.clear();
    for (unsigned char c : seed) gp.seed += std::string{hex[c >> 4], hex[c & 15]};
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    gp.host_time_ns = static_cast<int64_t>(rt.tv_sec) * 1000000000 + rt.tv_nsec;
    OCL_CHECK(send_frame(b.ctl.get(), FrameType::plan, encode_guest_plan(gp)));
    if (start_follows) OCL_CHECK(send_frame(b.ctl.get(), FrameType::start));
    log::step("plan sent");
    FrameChannel ch(b.ctl.get());
    auto f = ch.read(ready_timeout_ms, pid);
    if (!f) {
      if (f.error().code == ETIMEDOUT)
        return Error{ETIMEDOUT, "the guest did not get ready in " + std::to_string(ready_timeout_ms / 1000) + " s"};
      undo.vmm = 0;
      return vmm_error("the guest stopped before the container was created (OCELOT_VM_CONSOLE=FILE shows its console)");
    }
    log::step("guest answered");
    if (f->type == FrameType::error) return Error::make("in the VM: " + f->payload);
    if (f->type != FrameType::ready)
      return Error::make(std::string("the guest sent \"") + frame_type_name(f->type) + "\" instead of \"ready\"");
    log::debug("VM " + o.id + ": guest " + (tpl ? "restored from template " + fs::basename(tpl->dir) : "booted cold") +
               " and container created in " + std::to_string(monotonic_ms() - t0) + " ms (" + (pl.kvm ? "KVM" : "TCG") +
               ")");
    return b;
  };
  if (!plan.kvm) tcg_notice("no usable /dev/kvm: the guest runs under QEMU's TCG software emulation");
  std::optional<Result<Booted>> from_template;
  if (g.vm_template)
    from_template = try_template(
        plan, [&](const VmPlan& pl, const Template& t) { return attempt(pl, pl.kvm ? 10000 : 120000, &t); });
  if (from_template && !*from_template) return std::move(*from_template).error();
  if (!from_template) undo.kill_vmm();  // a failed restore's
  auto booted = from_template ? std::move(*from_template) : attempt(plan, plan.kvm ? 10000 : 120000, nullptr);
  // A /dev/kvm that cannot run the guest (seen with nested virtualisation): the guest never
  // answers (QEMU pauses it) or QEMU exits before it does. Remember it and boot under TCG.
  auto kvm_failed = [&](const Error& e) { return e.code == ETIMEDOUT || e.code == EPIPE; };
  if (!booted && plan.kvm && kvm_failed(booted.error())) {
    undo.kill_vmm();
    remember_kvm_broken(booted.error().msg);
    tcg_notice("/dev/kvm could not run the guest (" + booted.error().msg + "): using TCG from now on");
    plan.kvm = false;
    booted = attempt(plan, 120000, nullptr);
  }
  if (!booted) return std::move(booted).error();

  s.phase = spec::ContainerStatus::created;
  OCL_CHECK(store.save(s));
  if (!o.pid_file.empty()) OCL_CHECK(fs::write_file_atomic(o.pid_file, std::to_string(booted->vmm)));
  if (tty_master.valid()) {
    if (!o.console_socket.empty()) {
      UniqueFd sock = OCL_TRY(runtime::connect_console_socket(o.console_socket));
      OCL_CHECK_CTX(runtime::send_fd(sock.get(), tty_master.get(), plan.tty_path),
                    "send the pty to the console socket");
    } else {
      booted->tty_master = std::move(tty_master);
    }
  }
  undo.armed = false;
  return booted;
}

}  // namespace ocelot::vm
