// exec, parent side: a new process in a running container. The process spec comes from --process
// or from the container's own process with the flags applied. The parent (which runs from a
// write-proof copy of ocelot when the container could write the binary: runtime/safe_exe.h)
// enters the container's pid namespace for its child, clones, puts the child in the container's
// cgroup, and waits until it has exec'd (runtime/exec_child.cc is the other side).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/failpoint.h"
#include "base/fs.h"
#include "cgroups/manager.h"
#include "namespaces/join.h"
#include "runtime/console.h"
#include "runtime/container_backend.h"
#include "runtime/exec_child.h"
#include "runtime/inherited_fds.h"
#include "runtime/lifecycle.h"
#include "runtime/lsm.h"
#include "runtime/safe_exe.h"
#include "runtime/seccomp_listener.h"
#include "runtime/state_store.h"
#include "runtime/supervise.h"
#include "runtime/sync.h"
#include "spec/names.h"
#include "spec/parse.h"
#include "spec/validate.h"

namespace ocelot::runtime {

namespace {

Result<uint32_t> parse_id(const std::string& s, const char* what) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 10) return Error::make(std::string(what) + ": expected a number, got " + quote(s));
  for (char c : s) {
    if (c < '0' || c > '9') return Error::make(std::string(what) + ": expected a number, got " + quote(s));
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 2147483647) return Error::make(std::string(what) + ": must be between 0 and 2147483647, got " + s);
  return static_cast<uint32_t>(v);
}

void set_env(std::vector<std::string>& env, const std::string& kv) {
  auto key = kv.substr(0, kv.find('='));
  for (auto& e : env)
    if (e.substr(0, e.find('=')) == key) {
      e = kv;
      return;
    }
  env.push_back(kv);
}

// The exec'd process ended before it reached execve, without a word (killed, or it crashed).
Error exec_child_died(pid_t pid) {
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid, &status, 0);
  while (r < 0 && errno == EINTR);
  std::string how = r < 0                 ? "ended"
                    : WIFSIGNALED(status) ? "was killed by signal " + spec::signal_name(WTERMSIG(status))
                                          : "exited with status " + std::to_string(WEXITSTATUS(status));
  return Error::make("exec: the process " + how + " before it was executed");
}

}  // namespace

Result<spec::Process> exec_process_spec(const ExecOptions& o, const spec::Config& cfg) {
  if (!o.process_file.empty()) {
    auto t = fs::read_file(o.process_file);
    if (!t) return std::move(t).error().wrap("--process");
    auto p = spec::parse_process(*t);
    if (!p) return std::move(p).error().wrap("--process " + quote(o.process_file));
    return p;
  }
  if (o.args.empty()) return Error::make("exec: no command given (need args or --process)");
  spec::Process p = cfg.process ? *cfg.process : spec::Process{};
  p.args = o.args;
  p.terminal = o.tty_set ? o.tty : false;
  p.console_size.reset();
  for (const auto& e : o.env) set_env(p.env, e);
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (p.cwd.empty()) p.cwd = "/";
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    p.user.uid = OCL_TRY(parse_id(o.user.substr(0, colon), "--user"));
    if (colon != std::string::npos) p.user.gid = OCL_TRY(parse_id(o.user.substr(colon + 1), "--user"));
    p.user.additional_gids.clear();
  }
  for (auto gid : o.additional_gids) p.user.additional_gids.push_back(gid);
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const auto& c : o.caps) {
      std::string name = c.rfind("CAP_", 0) == 0 ? c : "CAP_" + c;
      if (!spec::capability_number(name)) return Error::make("--cap: unknown capability " + quote(c));
      for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted,
                        &p.capabilities->ambient, &p.capabilities->inheritable})
        set->push_back(name);
    }
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
  if (!o.process_label.empty()) p.selinux_label = o.process_label;
  OCL_CHECK(spec::validate_process(p, "process"));
  return p;
}

namespace {

// What the host prepares before the exec'd process is cloned.
struct ExecPrep {
  spec::Config cfg;
  spec::Process proc;
  std::optional<SeccompFilter> filter;
  ns::NsFds fds;
  std::unique_ptr<cgroups::Manager> cg;
  UniqueFd root_fd, parent_sock, child_sock;
  ConsoleChannel console;
  ExecChildArgs args;
};

Status prepare_exec(ExecPrep& x, const StateStore& store, const Stored& s, const ExecOptions& o) {
  x.cfg = OCL_TRY(store.load_config(o.id));
  x.proc = OCL_TRY(exec_process_spec(o, x.cfg));
  OCL_CHECK(check_console_options(x.proc.terminal, !o.console_socket.empty(), o.detach));
  // Our child is seen in the container's pid namespace from clone() on.
  if (!running_from_protected_exe() && container_root_can_write_binary(s.uid_map)) OCL_CHECK(reexec_from_sealed_copy());
  int pass = OCL_TRY(fds_to_pass(o.preserve_fds, false, nullptr));
  if (x.cfg.linux && x.cfg.linux->seccomp)
    x.filter.emplace(OCL_TRY(SeccompFilter::build(*x.cfg.linux->seccomp, seccomp_cache_dir())));
  // Every namespace of the init, opened before anyone moves; then check it is still our init.
  x.fds = OCL_TRY(ns::open_process_namespaces(s.init.pid));
  if (!s.init.alive()) return Error::make("cannot exec in a stopped container");
  x.cg = OCL_TRY(manager_for(s));
  auto sg = fs::read_file("/proc/" + std::to_string(s.init.pid) + "/setgroups");
  if (s.host_mount_ns) {
    x.root_fd.reset(
        ::open(("/proc/" + std::to_string(s.init.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!x.root_fd.valid()) return Error::last("open the container's root");
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::last("sync socketpair");
  x.parent_sock.reset(sv[0]);
  x.child_sock.reset(sv[1]);
  if (x.proc.terminal) x.console = OCL_TRY(open_console_channel(o.console_socket));
  ExecChildArgs& a = x.args;
  a.process = &x.proc;
  a.sync_fd = x.child_sock.get();
  a.parent_sync_fd = x.parent_sock.get();
  a.console_fd = x.console.to_child.get();
  a.joins = x.fds.raw_joins();
  a.seccomp = x.filter ? &*x.filter : nullptr;
  a.pass_fds = pass;
  a.root_fd = x.root_fd.get();
  a.setgroups_allowed = !(sg && sg->rfind("deny", 0) == 0);
  a.apparmor = !x.proc.apparmor_profile.empty() && apparmor_enabled();
  a.selinux = !x.proc.selinux_label.empty() && selinux_enabled();
  return ok();
}

// Unprivileged (rootless): only a member of the container's user namespace may enter its pid
// namespace, which we do around clone(). So we join the user namespace here, for good (setns
// cannot take an unprivileged process back), and the child does not join it again.
Status join_user_namespace_if_unprivileged(ExecChildArgs& a) {
  if (::geteuid() == 0) return ok();
  for (auto it = a.joins.begin(); it != a.joins.end(); ++it) {
    if (it->first != CLONE_NEWUSER) continue;
    if (::setns(it->second, CLONE_NEWUSER) != 0) return Error::last("join the container's user namespace");
    a.joins.erase(it);
    break;
  }
  return ok();
}

Result<pid_t> clone_exec_child(ExecPrep& x) {
  long pid;
  {
    auto scope = OCL_TRY(ns::ChildNamespaces::enter(ns::NsPlan{}, x.fds, spec::Linux{}));
    pid = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid == 0) exec_child_main(x.args);
    if (pid < 0) return Error::last("clone exec process");
  }
  x.child_sock.reset();
  x.console.to_child.reset();
  failpoint("exec.cloned");
  return static_cast<pid_t>(pid);
}

// The parent's side: into the container's cgroups ("go"), the seccomp listener, until execve.
Status drive_exec_handshake(ExecPrep& x, const Stored& s, spec::ContainerStatus status, pid_t pid) {
  auto fail = [&](Error e) -> Error {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return e;
  };
  // A process that cannot be put in the container's cgroups does not run.
  if (auto st = x.cg->add_process(pid); !st) return fail(std::move(st).error());
  failpoint("exec.cgroup-joined");
  SyncChannel ch(x.parent_sock.get());
  if (auto st = ch.send_go(pid); !st) return fail(std::move(st).error());
  bool execing = false;
  for (;;) {
    auto ev = ch.wait_for_child();
    if (!ev) {
      ::waitpid(pid, nullptr, 0);
      return std::move(ev).error();
    }
    if (ev->kind == ChildEvent::seccomp_fd) {
      spec::State st = to_spec_state(s, status, x.cfg.annotations);
      if (auto r = send_to_seccomp_listener(*x.cfg.linux->seccomp, ev->fd.get(), pid, st); !r)
        return fail(std::move(r).error());
      continue;
    }
    if (ev->kind == ChildEvent::execing) {
      execing = true;
      continue;
    }
    if (ev->kind != ChildEvent::exited) return fail(Error::make("sync: unexpected message from the exec'd process"));
    // End of stream: the sync socket closed at execve, or the process died before it got there.
    if (!execing) return exec_child_died(pid);
    return ok();
  }
}

}  // namespace

Result<int> ContainerBackend::exec(const StateStore& store, const Stored& s, spec::ContainerStatus status,
                                   const ExecOptions& o) {
  ExecPrep x;
  OCL_CHECK(prepare_exec(x, store, s, o));
  OCL_CHECK(join_user_namespace_if_unprivileged(x.args));
  std::optional<SignalBlock> signals;
  if (!o.detach) signals.emplace();
  pid_t pid = OCL_TRY(clone_exec_child(x));
  OCL_CHECK(drive_exec_handshake(x, s, status, pid));
  UniqueFd master;
  if (x.console.peer.valid()) {
    auto r = recv_fd(x.console.peer.get());
    if (r) master = std::move(*r);
  }
  failpoint("exec.started");
  if (!o.pid_file.empty()) OCL_CHECK_CTX(fs::write_file_atomic(o.pid_file, std::to_string(pid)), "write pid file");
  if (o.started_fd >= 0) {
    std::string text = std::to_string(pid);
    (void)!::write(o.started_fd, text.data(), text.size());
  }
  if (o.detach) return 0;
  return supervise(pid, master.valid() ? master.get() : -1, *signals);
}

}  // namespace ocelot::runtime
