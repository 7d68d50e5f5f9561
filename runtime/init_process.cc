#include "runtime/init_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/console.h"
#include "runtime/exec_trampoline.h"
#include "runtime/hooks.h"
#include "runtime/lsm.h"
#include "runtime/process_setup.h"
#include "runtime/sync.h"
#include "spec/names.h"

namespace ocelot::runtime {

std::vector<std::string> build_env(const spec::Process& p, int listen_fds) {
  std::vector<std::string> env = p.env;
  if (listen_fds > 0) {
    env.push_back("LISTEN_FDS=" + std::to_string(listen_fds));
    env.push_back("LISTEN_PID=1");
  }
  return env;
}

Status prepare_fds_for_exec_in_child(int preserve_fds) {
  // Preserved fds survive execve; every other fd above stdio is closed by it (CVE-2024-21626:
  // no runtime fd may reach the workload).
  for (int fd = 3; fd < 3 + preserve_fds; ++fd) {
    int fl = ::fcntl(fd, F_GETFD);
    if (fl >= 0) ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  if (::syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    return Error::last("mark fds close-on-exec");
  return ok();
}

void reset_signals_in_child() noexcept {
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Each step returns Status; the first failure goes to the parent as {errno, message}.
static Status init_steps(const InitArgs& a) {
  const spec::Config& c = *a.config;
  const spec::Process& p = *c.process;
  int sync = a.sync_fd;

  // sync 2: wait until the parent has put us in the cgroup and written our id maps.
  auto go = recv_msg(sync);
  if (!go || go->type != Msg::go) ::_exit(1);  // the parent is gone or failed; it cleans up
  const std::string start_state = go->payload;  // state JSON (host pid) for startContainer hooks
  if (a.new_userns) {
    if (::syscall(SYS_setresgid, 0, 0, 0) != 0) return Error::last("become gid 0 in the user namespace");
    if (::syscall(SYS_setresuid, 0, 0, 0) != 0) return Error::last("become uid 0 in the user namespace");
  }
  for (const auto& [fd, type] : a.join) {
    if (::setns(fd, type) != 0) {
      for (const auto& t : spec::all_namespace_types())
        if (spec::namespace_flag(t) == type) return Error::last("join " + t + " namespace");
      return Error::last("join namespace");
    }
    if (type == CLONE_NEWUSER) {
      ::syscall(SYS_setresgid, 0, 0, 0);
      ::syscall(SYS_setresuid, 0, 0, 0);
    }
  }
  if (int f = a.unshare_flags & ~CLONE_NEWCGROUP; f && ::unshare(f) != 0) return Error::last("create namespaces");
  if (::setsid() < 0) return Error::last("setsid");
  if (!a.no_new_keyring) {
    std::string name = "_ses." + a.id;
    if (::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, name.c_str()) < 0 && errno != ENOSYS)
      return Error::last("create session keyring");
  }
  if (!c.hostname.empty() && ::sethostname(c.hostname.data(), c.hostname.size()) != 0)
    return Error::last("set hostname \"" + c.hostname + "\"");
  if (!c.domainname.empty() && ::setdomainname(c.domainname.data(), c.domainname.size()) != 0)
    return Error::last("set domainname \"" + c.domainname + "\"");

  // sync 2b: mounts go ahead while the parent moves us into our cgroups; we wait for that only
  // before the first cgroup mount (or after the mounts), then make the cgroup namespace, whose
  // root is the cgroup we are in at that moment.
  struct Joined {
    const InitArgs* a;
    bool done = false;
  } joined{&a};
  ns::RootfsParams rp = a.rootfs;
  rp.before_cgroup_mount_ctx = &joined;
  rp.before_cgroup_mount = [](void* ctx) -> Status {
    auto* j = static_cast<Joined*>(ctx);
    if (j->done) return ok();
    j->done = true;
    auto m = recv_msg(j->a->sync_fd);
    if (!m || m->type != Msg::cgroup_joined) ::_exit(1);
    if ((j->a->unshare_flags & CLONE_NEWCGROUP) && ::unshare(CLONE_NEWCGROUP) != 0)
      return Error::last("create cgroup namespace");
    return ok();
  };
  OCL_CHECK(ns::prepare_rootfs_in_child(rp));
  OCL_CHECK(rp.before_cgroup_mount(&joined));

  // sync 3: mounts are ready; the parent runs prestart and createRuntime hooks.
  if (a.sync_hooks) {
    OCL_CHECK(send_msg(sync, Msg::mounts_ready));
    auto m = recv_msg(sync);
    if (!m || m->type != Msg::hooks_done) ::_exit(1);
    OCL_CHECK(run_hooks(c.hooks.create_container, m->payload, "createContainer"));
  }

  OCL_CHECK(ns::pivot_root_in_child(rp));

  if (p.terminal) {
    auto pty = OCL_TRY(open_pty_in_child(p.console_size));
    OCL_CHECK(send_fd(a.console_fd, pty.master.get(), "/dev/ptmx"));
    ::close(a.console_fd);
    pty.master.reset();
    OCL_CHECK(ns::mount_console_in_child(pty.slave_path));
    OCL_CHECK(attach_pty_in_child(pty));
  }

  OCL_CHECK(ns::finalize_rootfs_in_child(rp));
  OCL_CHECK(apply_rlimits_in_child(p.rlimits));
  if (c.linux && c.linux->personality) OCL_CHECK(apply_personality_in_child(*c.linux->personality));
  OCL_CHECK(apply_sched_in_child(p));

  std::vector<std::string> env = build_env(p, a.listen_fds);
  std::string exe = OCL_TRY(find_executable_in_child(p.args[0], env));

  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it.
  // A filter with SCMP_ACT_NOTIFY is loaded before "ready" in any case, so that the parent is
  // still there to hand its listener fd on.
  bool early_seccomp = a.seccomp && (!p.no_new_privileges || a.seccomp->uses_notify());
  if (early_seccomp && p.no_new_privileges) OCL_CHECK(set_no_new_privs_in_child());
  if (early_seccomp) {
    int nfd = OCL_TRY(a.seccomp->load_in_child());
    if (nfd >= 0) {
      OCL_CHECK(send_msg(sync, Msg::seccomp_fd));
      OCL_CHECK(send_fd(sync, nfd, "seccompFd"));
      ::close(nfd);
    }
  }
  OCL_CHECK(enter_cwd_in_child(p.cwd));
  OCL_CHECK(switch_user_and_caps_in_child(p, true));
  ::umask(p.user.umask.value_or(022));
  if (p.no_new_privileges) OCL_CHECK(set_no_new_privs_in_child());
  OCL_CHECK(prepare_fds_for_exec_in_child(a.preserve_fds));
  OCL_CHECK(set_exec_lsm_in_child(p.apparmor_profile, p.selinux_label));

  // sync 4: ready. From here the parent may exit: we must outlive it.
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  OCL_CHECK(send_msg(sync, Msg::ready));

  // sync 5: block until `start` writes a byte into exec.fifo.
  char byte;
  ssize_t n;
  do n = ::read(a.fifo_fd, &byte, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(1);
  ::close(a.fifo_fd);

  auto hooks = run_hooks(c.hooks.start_container, start_state, "startContainer");
  if (!hooks) {
    ::dprintf(2, "ocelot: %s\n", hooks.error().msg.c_str());
    ::_exit(1);
  }
  if (a.seccomp && !early_seccomp) {
    auto l = a.seccomp->load_in_child();
    if (!l) {
      ::dprintf(2, "ocelot: %s\n", l.error().msg.c_str());
      ::_exit(1);
    }
  }
  reset_signals_in_child();
  exec_via_trampoline(a.trampoline_fd, exe, p.args, env);
  // Past start there is no one to report to but the workload's own stderr.
  ::dprintf(2, "ocelot: exec \"%s\": %s\n", exe.c_str(), errno_text(errno).c_str());
  ::_exit(127);
}

void init_process_main(const InitArgs& a) noexcept {
  ::close(a.parent_sync_fd);
  ::close(a.lock_fd);
  // If create dies before we are ready, we die too; cleared once the handshake is done.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Not dumpable: other processes in the container cannot open our /proc/PID/exe (the host binary).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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
