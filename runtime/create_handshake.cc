// The container backend's create, parent side of docs/handshake.md: clone the init (sync 1), give
// it what only the parent can (id maps; the core then makes its cgroup: sync 2b), run the host
// hooks, pass the seccomp listener its fd, until it reports ready. The child's side of each
// numbered step is in runtime/init_process.cc.
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/failpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "namespaces/user_ns.h"
#include "runtime/console.h"
#include "runtime/container_backend.h"
#include "runtime/hooks.h"
#include "runtime/init_process.h"
#include "runtime/lsm.h"
#include "runtime/rootless.h"
#include "runtime/seccomp_listener.h"
#include "runtime/sync.h"
#include "spec/names.h"

namespace ocelot::runtime {

namespace {

// The init ended before it was ready: say why, in words (an OOM kill during setup is the
// common case: a memory limit too low for the runtime's own setup).
Error init_died(Creation& c) {
  int status = 0;
  pid_t r;
  do r = ::waitpid(c.child, &status, 0);
  while (r < 0 && errno == EINTR);
  c.child = 0;
  std::string how = r < 0                 ? "ended"
                    : WIFSIGNALED(status) ? "was killed by signal " + spec::signal_name(WTERMSIG(status))
                                          : "exited with status " + std::to_string(WEXITSTATUS(status));
  uint64_t ooms = c.cg ? c.cg->stats().oom_kills : 0;
  const auto& res = c.b.config.linux->resources;
  bool limited = res && res->memory && res->memory->limit;
  if (ooms > 0 && limited)
    return Error::make("container init " + how + ": the OOM killer stopped it while it was set up: memory limit " +
                       std::to_string(*res->memory->limit) + " bytes is too low to start a container");
  // systemd removes a scope, and its OOM counter, as soon as its last process is gone.
  const cgroups::Paths& p = c.rec.cgroup_paths;
  std::string dir = !p.v2.empty() ? p.v2 : p.v1.empty() ? "" : p.v1.begin()->second;
  if (limited && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !dir.empty() && !fs::is_dir(dir))
    return Error::make("container init " + how +
                       " while it was set up, and its cgroup is gone (so is its OOM count): "
                       "memory limit " +
                       std::to_string(*res->memory->limit) + " bytes may be too low to start a container");
  return Error::make("container init " + how + " before it was ready");
}

Status forward_seccomp_fd(Creation& c, UniqueFd nfd) {
  return send_to_seccomp_listener(*c.b.config.linux->seccomp, nfd.get(), c.rec.init.pid, creating_state(c));
}

// sync 2 (a new user namespace): what only the parent can write before the init goes on; without
// one it is already mounting while the core makes its cgroup (a cgroup v1 migration waits for an
// RCU grace period: milliseconds).
Status give_init_what_only_the_parent_can(Creation& c, SyncChannel& ch) {
  const spec::Config& cfg = c.b.config;
  pid_t pid = c.child;
  if (cfg.process->oom_score_adj)
    OCL_CHECK_CTX(fs::write_existing("/proc/" + std::to_string(pid) + "/oom_score_adj",
                                     std::to_string(*cfg.process->oom_score_adj)),
                  "set oom_score_adj");
  if (c.b.ns.new_user) {
    OCL_CHECK(ns::write_id_maps_in_parent(pid, *cfg.linux));
    OCL_CHECK(ch.send_go(pid));
  }
  return ok();
}

// A step of ours failed after the init had already stopped: its reason is the error, not our
// broken pipe. It said why (a hostname it could not set, a namespace path that is a plain file),
// or it died without a word (killed): then how it ended.
Error prefer_init_error(Creation& c, SyncChannel& ch, Error ours) {
  if (auto e = ch.reported_error()) return std::move(*e);
  if (ours.code == EPIPE || ours.code == ECONNRESET || ours.code == ESRCH) return init_died(c);
  return ours;
}

}  // namespace

InitArgs ContainerBackend::init_args(const Creation& c) const {
  const spec::Config& cfg = c.b.config;
  InitArgs a;
  a.config = &cfg;
  a.ns = &c.b.ns;
  a.joins = ns_fds_.raw_joins();
  a.id = c.o.id;
  a.bundle = c.b.dir;
  a.sync_fd = child_sock_.get();
  a.parent_sync_fd = parent_sock_.get();
  a.lock_fd = c.lock.get();
  a.fifo_fd = fifo_.get();
  a.console_fd = console_.get();
  a.stub_fd = stub_.get();
  a.bpf_fd = bpf_.get();
  a.pass_fds = pass_fds_;
  a.listen_fds = listen_fds_;
  a.no_new_keyring = c.o.no_new_keyring;
  a.sync_hooks =
      !cfg.hooks.prestart.empty() || !cfg.hooks.create_runtime.empty() || !cfg.hooks.create_container.empty();
  a.apparmor = !cfg.process->apparmor_profile.empty() && apparmor_enabled();
  a.selinux = !cfg.process->selinux_label.empty() && selinux_enabled();
  a.rootfs.config = &cfg;
  a.rootfs.bundle = c.b.dir;
  a.rootfs.rootfs = c.b.rootfs;
  a.rootfs.no_pivot = c.o.no_pivot;
  a.rootfs.host_mount_ns = !c.b.ns.has("mount");
  // In any user namespace but the host's (ours, new or joined) mknod is refused: bind devices.
  a.rootfs.new_userns = c.b.ns.new_user || c.b.ns.join_user || running_in_user_namespace();
  a.rootfs.cgroupns = c.b.ns.new_cgroup;
  a.rootfs.cgroup_mounts = cgroup_mounts_;
  a.seccomp = filter_ ? &*filter_ : nullptr;
  return a;
}

Status ContainerBackend::spawn(Creation& c) {
  InitArgs a = init_args(c);
  if (a.apparmor) OCL_CHECK(check_apparmor_profile_loaded(c.b.config.process->apparmor_profile));
  // sync 1: clone the init straight into its new namespaces; pid and time namespaces are entered
  // around the clone, since they apply to children only. Until "ready" it dies with us
  // (PR_SET_PDEATHSIG).
  long pid;
  {
    auto scope = OCL_TRY(ns::ChildNamespaces::enter(c.b.ns, ns_fds_, *c.b.config.linux));
    pid = ::syscall(SYS_clone, static_cast<unsigned long>(c.b.ns.clone_flags) | SIGCHLD, nullptr, nullptr, nullptr,
                    nullptr);
    if (pid == 0) init_process_main(a);
    if (pid < 0) return Error::last("clone container init");
  }
  c.child = static_cast<pid_t>(pid);
  child_sock_.reset();
  console_.reset();
  SyncChannel ch(parent_sock_.get());
  if (auto st = give_init_what_only_the_parent_can(c, ch); !st) return prefer_init_error(c, ch, std::move(st).error());
  return ok();
}

Error ContainerBackend::why_failed(Creation& c, Error ours) noexcept {
  SyncChannel ch(parent_sock_.get());
  return prefer_init_error(c, ch, std::move(ours));
}

Status ContainerBackend::complete(Creation& c) {
  SyncChannel ch(parent_sock_.get());
  // sync 2b: in its cgroups now (the core made and joined them): the init may mount cgroups.
  if (auto st = ch.send_cgroup_joined(c.child); !st) return prefer_init_error(c, ch, std::move(st).error());
  for (;;) {
    auto ev = ch.wait_for_child();
    if (!ev) return std::move(ev).error();
    switch (ev->kind) {
      case ChildEvent::mounts_ready: {
        // sync 3: prestart (deprecated) and createRuntime hooks, in the runtime's namespaces.
        OCL_CHECK(run_create_hooks(c));
        failpoint("create.hooks-ran");
        if (auto st = ch.send_hooks_done(); !st) return prefer_init_error(c, ch, std::move(st).error());
        break;
      }
      case ChildEvent::seccomp_fd: OCL_CHECK(forward_seccomp_fd(c, std::move(ev->fd))); break;
      case ChildEvent::ready: return ok();  // sync 4: the init is the stub now, blocked on exec.fifo
      case ChildEvent::execing: return Error::make("sync: unexpected \"execing\" from the container init");
      case ChildEvent::exited: return init_died(c);
    }
  }
}

}  // namespace ocelot::runtime
