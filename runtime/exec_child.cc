#include "runtime/exec_child.h"
#include "base/strings.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/failpoint.h"
#include "namespaces/join.h"
#include "runtime/console.h"
#include "runtime/inherited_fds.h"
#include "runtime/init_process.h"
#include "runtime/lsm.h"
#include "runtime/process_setup.h"
#include "runtime/sync.h"

namespace ocelot::runtime {

namespace {

Status load_filter(const ExecChildArgs& a, SyncChannel& ch) {
  int nfd = OCL_TRY(a.seccomp->load_in_child());
  if (nfd >= 0) {
    OCL_CHECK(ch.send_seccomp_fd(nfd));
    ::close(nfd);
  }
  return ok();
}

Status exec_steps(const ExecChildArgs& a) {
  const spec::Process& p = *a.process;
  SyncChannel ch(a.sync_fd);
  (void)OCL_TRY(ch.wait_go());  // in the container's cgroups now
  OCL_CHECK(ns::join_namespaces_in_child(a.joins));
  // Without a mount namespace of its own the container is a chroot: enter the same root.
  if (a.root_fd >= 0 && (::fchdir(a.root_fd) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0))
    return Error::last("enter the container's root");
  if (p.terminal) {
    if (::setsid() < 0) return Error::last("setsid");
    auto pty = OCL_TRY(open_pty_in_child(p.console_size));
    OCL_CHECK(send_fd(a.console_fd, pty.master.get(), "/dev/ptmx"));
    ::close(a.console_fd);
    pty.master.reset();
    OCL_CHECK(attach_pty_in_child(pty));
  }
  OCL_CHECK(apply_rlimits_in_child(p.rlimits));
  OCL_CHECK(apply_sched_in_child(p));
  std::vector<std::string> env = with_home_in_child(p.env, p.user.uid);
  std::string exe = OCL_TRY(find_executable_in_child(p.args[0], env));
  OCL_CHECK(enter_cwd_in_child(p.cwd));
  ::umask(p.user.umask.value_or(022));
  OCL_CHECK(mark_fds_for_exec_in_child(a.pass_fds));
  OCL_CHECK(set_exec_lsm_in_child(a.apparmor ? p.apparmor_profile : "", a.selinux ? p.selinux_label : ""));
  reset_signals_in_child();
  // The parent-death signal guarded the setup; the workload must outlive `exec --detach` (conmon
  // and containerd's shim reap it themselves). The kernel keeps it across execve unless the
  // credentials change, so it is cleared here.
  if (::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) != 0) return Error::last("clear the parent-death signal");
  std::vector<std::string> args = p.args;
  CStrings argv(args), envp(env);
  // Set up: what is left either reports its own error or execs. Said before the seccomp filter,
  // which may not allow another message.
  failpoint("exec.child-setup");
  OCL_CHECK(ch.send_execing());
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we hold it.
  if (a.seccomp && !p.no_new_privileges) OCL_CHECK(load_filter(a, ch));
  hand_stdio_to_user_in_child(p.user.uid);
  OCL_CHECK(switch_user_and_caps_in_child(p, cap_sets(p), 0, a.setgroups_allowed));
  if (p.no_new_privileges) OCL_CHECK(set_no_new_privs_in_child());
  if (a.seccomp && p.no_new_privileges) OCL_CHECK(load_filter(a, ch));
  ::execve(exe.c_str(), argv.data(), envp.data());
  return Error::last("exec " + quote(exe));
}

}  // namespace

void exec_child_main(const ExecChildArgs& a) noexcept {
  ::close(a.parent_sync_fd);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  try {
    auto st = exec_steps(a);
    if (!st) child_fail(a.sync_fd, st.error());
  } catch (const std::exception& e) {
    child_fail(a.sync_fd, Error::make(std::string("exec: ") + e.what()));
  } catch (...) {
    child_fail(a.sync_fd, Error::make("exec: unknown failure"));
  }
  ::_exit(1);
}

}  // namespace ocelot::runtime
