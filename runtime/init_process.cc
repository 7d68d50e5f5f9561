#include "runtime/init_process.h"
#include "base/strings.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/failpoint.h"
#include "base/fs.h"
#include "namespaces/join.h"
#include "namespaces/net.h"
#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/inherited_fds.h"
#include "runtime/init_stub.h"
#include "runtime/lsm.h"
#include "runtime/process_setup.h"
#include "runtime/sync.h"
#include "spec/state.h"

namespace ocelot::runtime {

std::vector<std::string> build_env(const spec::Process& p, int listen_fds) {
  std::vector<std::string> env = p.env;
  if (listen_fds > 0) {
    env.push_back("LISTEN_FDS=" + std::to_string(listen_fds));
    env.push_back("LISTEN_PID=1");
  }
  return env;
}

void reset_signals_in_child() noexcept {
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) (void)::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

namespace {

// The state JSON hooks read on stdin; pid is our pid on the host (we are 1 in our namespace).
std::string hook_state(const InitArgs& a, pid_t host_pid, spec::ContainerStatus status) {
  spec::State s;
  s.id = a.id;
  s.bundle = a.bundle;
  s.pid = host_pid;
  s.status = status;
  s.annotations = a.config->annotations;
  return spec::state_to_hook_json(s);
}

Result<UniqueFd> memfd_with(const std::string& name, const std::string& data) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_memfd_create, name.c_str(), MFD_CLOEXEC)));
  if (!fd.valid()) return Error::last("memfd_create " + name);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::last("write " + name);
    off += static_cast<size_t>(n);
  }
  return fd;
}

Status keep_across_exec(int fd) {
  if (fd < 0) return ok();
  int fl = ::fcntl(fd, F_GETFD);
  if (fl < 0 || ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) != 0)
    return Error::last("pass a file descriptor to the init stub");
  return ok();
}

// sync 2, only with a new user namespace: the parent has written our id maps. Without one we go
// ahead at once (one round trip less on every start); our host pid comes with sync 2b. Then the
// namespaces joined by path and those made after them, and what a new one needs (lo up).
// Returns whether setgroups is allowed: an unprivileged parent had to deny it in our user
// namespace before writing gid_map. Read now, through the host's /proc: after pivot_root /proc is
// the container's.
Result<bool> enter_namespaces(const InitArgs& a, SyncChannel& ch) {
  const ns::NsPlan& plan = *a.ns;
  if (plan.new_user) {
    (void)OCL_TRY(ch.wait_go());
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (::syscall(SYS_setresgid, 0, 0, 0) != 0) return Error::last("become gid 0 in the user namespace");
    if (::syscall(SYS_setresuid, 0, 0, 0) != 0) return Error::last("become uid 0 in the user namespace");
  }
  OCL_CHECK(ns::join_namespaces_in_child(a.joins));
  OCL_CHECK(ns::unshare_namespaces_in_child(plan.unshare_flags));
  failpoint("init.namespaces-joined");
  if ((plan.clone_flags | plan.unshare_flags) & CLONE_NEWNET) OCL_CHECK(ns::loopback_up_in_child());
  bool setgroups_allowed = true;
  if (plan.new_user || plan.join_user) {
    auto sg = fs::read_file("/proc/self/setgroups");
    setgroups_allowed = !sg || sg->rfind("deny", 0) != 0;
  }
  return setgroups_allowed;
}

// Session, session keyring, hostname and domainname.
Status set_identity(const InitArgs& a) {
  const spec::Config& c = *a.config;
  if (::setsid() < 0) return Error::last("setsid");
  if (!a.no_new_keyring) {
    std::string name = "_ses." + a.id;
    if (::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, name.c_str()) < 0 && errno != ENOSYS)
      return Error::last("create session keyring");
  }
  if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) != 0)
    return Error::last("set hostname " + quote(c.hostname));
  if (!c.domainname.empty() && ::setdomainname(c.domainname.data(), c.domainname.size()) != 0)
    return Error::last("set domainname " + quote(c.domainname));
  return ok();
}

// sync 2b: mounts go ahead while the parent moves us into our cgroups; we wait for that only
// before the first cgroup mount (or after the mounts), then make the cgroup namespace, whose root
// is the cgroup we are in at that moment. Returns our pid on the host (from sync 2b).
Result<pid_t> mount_rootfs(const InitArgs& a, SyncChannel& ch, ns::RootfsParams& rp) {
  struct Joined {
    SyncChannel* ch;
    bool new_cgroup;
    bool done = false;
    pid_t host_pid = 0;
  } joined{&ch, a.ns->new_cgroup};
  rp.before_cgroup_mount_ctx = &joined;
  rp.before_cgroup_mount = [](void* ctx) -> Status {
    auto* j = static_cast<Joined*>(ctx);
    if (j->done) return ok();
    j->done = true;
    j->host_pid = OCL_TRY(j->ch->wait_cgroup_joined());
    if (j->new_cgroup && ::unshare(CLONE_NEWCGROUP) != 0) return Error::last("create cgroup namespace");
    return ok();
  };
  OCL_CHECK(ns::prepare_rootfs_in_child(rp));
  OCL_CHECK(rp.before_cgroup_mount(&joined));
  rp.before_cgroup_mount = nullptr;
  failpoint("init.mounted");
  return joined.host_pid;
}

// sync 3: mounts are ready; the parent runs prestart and createRuntime hooks, then we run
// createContainer hooks here, in the container's namespaces, before pivot_root.
Status run_create_hooks(const InitArgs& a, SyncChannel& ch, pid_t host_pid) {
  if (!a.sync_hooks) return ok();
  OCL_CHECK(ch.send_mounts_ready());
  OCL_CHECK(ch.wait_hooks_done());
  return run_hooks(a.config->hooks.create_container, hook_state(a, host_pid, spec::ContainerStatus::creating),
                   "createContainer");
}

// pivot_root, the cwd made, the terminal, the rest of the rootfs (sysctls, masked and read-only
// paths, read-only root), then the process's own settings.
Status enter_root_and_settle(const InitArgs& a, ns::RootfsParams& rp) {
  const spec::Config& c = *a.config;
  const spec::Process& p = *c.process;
  OCL_CHECK(ns::enter_root_in_child(rp));
  failpoint("init.pivoted");
  OCL_CHECK(make_cwd_in_child(p.cwd));  // before the root may turn read-only
  if (!rp.host_mount_ns) reopen_dev_null_stdio_in_child();
  if (p.terminal) {
    auto pty = OCL_TRY(open_pty_in_child(p.console_size));
    OCL_CHECK(send_fd(a.console_fd, pty.master.get(), "/dev/ptmx"));
    ::close(a.console_fd);
    pty.master.reset();
    OCL_CHECK(ns::mount_console_in_child(pty.slave.get()));
    OCL_CHECK(attach_pty_in_child(pty));
  }
  OCL_CHECK(ns::finalize_rootfs_in_child(rp));
  OCL_CHECK(apply_rlimits_in_child(p.rlimits));
  if (c.linux && c.linux->personality) OCL_CHECK(apply_personality_in_child(*c.linux->personality));
  return apply_sched_in_child(p);
}

// User, groups and capabilities now, so that a failure is create's error. A filter loaded without
// no_new_privs needs CAP_SYS_ADMIN when the stub loads it: kept until then (the temporary caps
// returned). A notify filter is loaded here instead (the parent must pass its fd on before
// "ready"): without no_new_privs while we still hold CAP_SYS_ADMIN, else after no_new_privs.
Result<uint64_t> switch_user(const InitArgs& a, SyncChannel& ch, const CapSets& caps, bool setgroups_allowed) {
  const spec::Process& p = *a.config->process;
  bool notify = a.seccomp && a.seccomp->uses_notify();
  uint64_t temp = (a.seccomp && !notify) ? seccomp_temp_caps(p, caps) : 0;
  auto load_notify = [&]() -> Status {
    int nfd = OCL_TRY(a.seccomp->load_in_child());
    OCL_CHECK(ch.send_seccomp_fd(nfd));
    ::close(nfd);
    return ok();
  };
  if (notify && !p.no_new_privileges) OCL_CHECK(load_notify());
  hand_stdio_to_user_in_child(p.user.uid);
  OCL_CHECK(switch_user_and_caps_in_child(p, caps, temp, setgroups_allowed));
  if (p.no_new_privileges) OCL_CHECK(set_no_new_privs_in_child());
  if (notify && p.no_new_privileges) OCL_CHECK(load_notify());
  return temp;
}

// What the stub does after `start`, as its argv (runtime/init_stub.h).
StubPlan stub_plan(const InitArgs& a, const CapSets& caps, uint64_t temp, int state_fd, int attr_dir_fd,
                   const std::string& exe) {
  const spec::Process& p = *a.config->process;
  StubPlan sp;
  sp.sync_fd = a.sync_fd;
  sp.fifo_fd = a.fifo_fd;
  sp.state_fd = state_fd;
  if (a.seccomp && !a.seccomp->uses_notify()) {
    sp.bpf_fd = a.bpf_fd;
    sp.bpf_flags = a.seccomp->flags();
  }
  sp.temp_caps = temp;
  sp.final_bounding = caps.bounding;
  sp.final_inheritable = caps.inheritable;
  sp.final_ambient = caps.ambient;
  if (a.apparmor) sp.apparmor = p.apparmor_profile;
  if (a.selinux) sp.selinux = p.selinux_label;
  sp.attr_dir_fd = attr_dir_fd;
  sp.start_hooks = &a.config->hooks.start_container;
  sp.exe = exe;
  sp.args = p.args;
  return sp;
}

Status init_steps(const InitArgs& a) {
  const spec::Config& c = *a.config;
  const spec::Process& p = *c.process;
  SyncChannel ch(a.sync_fd);
  bool setgroups_allowed = OCL_TRY(enter_namespaces(a, ch));
  OCL_CHECK(set_identity(a));
  ns::RootfsParams rp = a.rootfs;
  const pid_t host_pid = OCL_TRY(mount_rootfs(a, ch, rp));
  OCL_CHECK(run_create_hooks(a, ch, host_pid));
  OCL_CHECK(enter_root_and_settle(a, rp));

  std::vector<std::string> env = with_home_in_child(build_env(p, a.listen_fds), p.user.uid);
  std::string exe = OCL_TRY(find_executable_in_child(p.args[0], env));
  OCL_CHECK(enter_cwd_in_child(p.cwd));
  ::umask(p.user.umask.value_or(022));

  // What the stub needs after `start`: the state for startContainer hooks, the fds it keeps, the
  // attr directory for the LSM labels (through our own procfs handle; the stub opens and writes
  // the files, as only the credentials that open them may write them).
  UniqueFd state_fd;
  if (!c.hooks.start_container.empty())
    state_fd = OCL_TRY(memfd_with("ocelot-state", hook_state(a, host_pid, spec::ContainerStatus::created)));
  OCL_CHECK(mark_fds_for_exec_in_child(a.pass_fds));
  UniqueFd attr_dir;
  if (a.apparmor || a.selinux) attr_dir = OCL_TRY(open_attr_dir_in_child());
  for (int fd : {a.sync_fd, a.fifo_fd, a.bpf_fd, state_fd.get(), attr_dir.get()}) OCL_CHECK(keep_across_exec(fd));

  CapSets caps = cap_sets(p);
  uint64_t temp = OCL_TRY(switch_user(a, ch, caps, setgroups_allowed));
  auto argv_s = init_stub_argv(stub_plan(a, caps, temp, state_fd.get(), attr_dir.get(), exe));
  CStrings argv(argv_s), envp(env);
  reset_signals_in_child();
  failpoint("init.before-stub");
  // sync 4: from here on we are the stub: it says "ready" and waits for `start`.
  ::syscall(SYS_execveat, a.stub_fd, "", argv.data(), envp.data(), AT_EMPTY_PATH);
  return Error::last("exec the init stub");
}

}  // namespace

void init_process_main(const InitArgs& a) noexcept {
  ::close(a.parent_sync_fd);
  ::close(a.lock_fd);
  // If create dies before we are ready, we die too (the stub clears this once the parent has
  // recorded us). A parent that died before this line is seen at the first wait on the sync
  // socket: its end is closed. (getppid() cannot tell: it is 0 in a new pid namespace.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Not dumpable: other processes in the container cannot open our /proc/PID/exe (the host binary).
  // With a new user namespace only once the parent has written our id maps: an unprivileged
  // parent can open our /proc/PID/{uid_map,setgroups} only while we are dumpable (and nothing
  // else is in our namespaces before then).
  if (!a.ns->new_user) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  try {
    auto st = init_steps(a);
    if (!st) child_fail(a.sync_fd, st.error());
  } catch (const std::exception& e) {
    child_fail(a.sync_fd, Error::make(std::string("container init: ") + e.what()));
  } catch (...) {
    child_fail(a.sync_fd, Error::make("container init: unknown failure"));
  }
  ::_exit(1);
}

}  // namespace ocelot::runtime
