// exec: a new process in a running container. The parent enters the container's pid namespace for
// its children, clones, puts the child in the container's cgroup, then lets it join the other
// namespaces (user first) and become the process. Success is the sync socket's EOF at execve
// (it is close-on-exec); failure is an {errno, message} on it.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <cstdlib>

#include "cgroups/manager.h"
#include "base/fs.h"
#include "runtime/console.h"
#include "runtime/exec_trampoline.h"
#include "runtime/container.h"
#include "runtime/init_process.h"
#include "runtime/lsm.h"
#include "runtime/process_setup.h"
#include "runtime/seccomp.h"
#include "runtime/state_store.h"
#include "runtime/supervise.h"
#include "runtime/sync.h"
#include "spec/names.h"
#include "spec/parse.h"
#include "spec/validate.h"

namespace ocelot::runtime {

namespace {

struct ExecChildArgs {
  const spec::Process* process = nullptr;
  int sync_fd = -1, parent_sync_fd = -1, console_fd = -1;
  std::vector<std::pair<int, int>> join;
  const SeccompFilter* seccomp = nullptr;
  int preserve_fds = 0;
  int trampoline_fd = -1;
};

Status exec_steps(const ExecChildArgs& a) {
  const spec::Process& p = *a.process;
  auto go = recv_msg(a.sync_fd);
  if (!go || go->type != Msg::go) ::_exit(1);
  for (const auto& [fd, type] : a.join) {
    if (::setns(fd, type) != 0) {
      for (const auto& t : spec::all_namespace_types())
        if (spec::namespace_flag(t) == type) return Error::last("join " + t + " namespace");
    }
  }
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
  std::vector<std::string> env = p.env;
  std::string exe = OCL_TRY(find_executable_in_child(p.args[0], env));
  if (a.seccomp && !p.no_new_privileges) (void)OCL_TRY(a.seccomp->load_in_child());
  OCL_CHECK(enter_cwd_in_child(p.cwd));
  OCL_CHECK(switch_user_and_caps_in_child(p, true));
  ::umask(p.user.umask.value_or(022));
  if (p.no_new_privileges) OCL_CHECK(set_no_new_privs_in_child());
  OCL_CHECK(prepare_fds_for_exec_in_child(a.preserve_fds));
  OCL_CHECK(set_exec_lsm_in_child(p.apparmor_profile, p.selinux_label));
  if (a.seccomp && p.no_new_privileges) (void)OCL_TRY(a.seccomp->load_in_child());
  reset_signals_in_child();
  // The parent-death signal guarded the setup; the workload must outlive `exec --detach` (conmon
  // and containerd's shim reap it themselves). The kernel keeps it across execve unless the
  // credentials change, so it is cleared here.
  if (::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) != 0) return Error::last("clear the parent-death signal");
  exec_via_trampoline(a.trampoline_fd, exe, p.args, env);
  return Error::last("exec \"" + exe + "\"");
}

[[noreturn]] void exec_child_main(const ExecChildArgs& a) noexcept {
  ::close(a.parent_sync_fd);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  try {
    auto st = exec_steps(a);
    if (!st) child_fail(a.sync_fd, st.error());
  } catch (const std::exception& e) {
    child_fail(a.sync_fd, Error::make(std::string("exec: ") + e.what()));
  }
  ::_exit(1);
}

Result<uint32_t> parse_u32(const std::string& s, const char* what) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    return Error::make(std::string(what) + ": expected a number, got \"" + s + "\"");
  return v;
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

Result<spec::Process> exec_process_spec(const ExecOptions& o, const spec::Config& cfg) {
  if (!o.process_file.empty()) {
    auto t = fs::read_file(o.process_file);
    if (!t) return std::move(t).error().wrap("--process");
    auto p = spec::parse_process(*t);
    if (!p) return std::move(p).error().wrap("--process \"" + o.process_file + "\"");
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
    p.user.uid = OCL_TRY(parse_u32(o.user.substr(0, colon), "--user"));
    if (colon != std::string::npos) p.user.gid = OCL_TRY(parse_u32(o.user.substr(colon + 1), "--user"));
    p.user.additional_gids.clear();
  }
  for (auto gid : o.additional_gids) p.user.additional_gids.push_back(gid);
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const auto& c : o.caps) {
      std::string name = c.rfind("CAP_", 0) == 0 ? c : "CAP_" + c;
      if (!spec::capability_number(name)) return Error::make("--cap: unknown capability \"" + c + "\"");
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

// Same namespace as ours? Then there is nothing to join.
bool same_ns(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

}  // namespace

Result<int> exec_in_container(const Globals& g, const ExecOptions& o) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(o.id));
  std::string status = container_status(store, s);
  if (status == "stopped") return Error::make("cannot exec in a stopped container");
  if (status == "paused" && !o.ignore_paused) return Error::make("cannot exec in a paused container (use --ignore-paused)");
  auto cfg_text = OCL_TRY(store.load_config_text(o.id));
  auto cfg = spec::parse_config(cfg_text);
  if (!cfg) return std::move(cfg).error().wrap("stored config of \"" + o.id + "\"");
  spec::Process proc = OCL_TRY(exec_process_spec(o, *cfg));
  if (proc.terminal && o.console_socket.empty() && o.detach)
    return Error::make("cannot allocate tty if ocelot will detach without setting console socket");
  if (!proc.terminal && !o.console_socket.empty())
    return Error::make("cannot use console socket if ocelot will not detach or allocate tty");

  std::optional<SeccompFilter> filter;
  if (cfg->linux && cfg->linux->seccomp) filter.emplace(OCL_TRY(SeccompFilter::build(*cfg->linux->seccomp, seccomp_cache_dir())));

  // Open every namespace of the init before anyone moves: user first, mount last.
  std::string base = "/proc/" + std::to_string(s.pid) + "/ns/";
  std::vector<UniqueFd> fds;
  ExecChildArgs a;
  UniqueFd pid_ns, time_ns;
  for (const char* n : {"user", "ipc", "uts", "net", "cgroup", "time", "pid", "mnt"}) {
    std::string path = base + n;
    if (!fs::exists(path) || same_ns(path, std::string("/proc/self/ns/") + n)) continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::last(std::string("open ") + n + " namespace of the container");
    std::string type = n == std::string("net") ? "network" : n == std::string("mnt") ? "mount" : n;
    int flag = *spec::namespace_flag(type);
    if (flag == CLONE_NEWPID) {
      pid_ns = std::move(fd);
      continue;
    }
    a.join.emplace_back(fd.get(), flag);
    fds.push_back(std::move(fd));
  }
  if (!process_alive(s.pid, s.pid_start)) return Error::make("cannot exec in a stopped container");

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::last("sync socketpair");
  UniqueFd parent_sock(sv[0]), child_sock(sv[1]);
  UniqueFd console, console_peer;
  if (proc.terminal) {
    if (!o.console_socket.empty()) {
      console = OCL_TRY(connect_console_socket(o.console_socket));
    } else {
      int cv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) != 0) return Error::last("console socketpair");
      console_peer.reset(cv[0]);
      console.reset(cv[1]);
    }
  }
  a.process = &proc;
  a.sync_fd = child_sock.get();
  a.parent_sync_fd = parent_sock.get();
  a.console_fd = console.get();
  a.seccomp = filter ? &*filter : nullptr;
  UniqueFd trampoline = OCL_TRY(make_exec_trampoline());
  a.trampoline_fd = trampoline.get();
  const char* lf = ::getenv("LISTEN_FDS");
  a.preserve_fds = o.preserve_fds + (lf ? std::max(0, std::atoi(lf)) : 0);

  std::optional<SignalBlock> signals;
  if (!o.detach) signals.emplace();
  UniqueFd own_pid;
  if (pid_ns.valid()) {
    own_pid.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (::setns(pid_ns.get(), CLONE_NEWPID) != 0) return Error::last("join pid namespace");
  }
  long pid = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) exec_child_main(a);
  int err = errno;
  if (own_pid.valid()) (void)::setns(own_pid.get(), CLONE_NEWPID);
  if (pid < 0) return Error::sys(err, "clone exec process");
  child_sock.reset();
  console.reset();
  auto kill_child = [&] {
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
  };

  auto layout = cgroups::detect_layout();
  if (layout) {
    cgroups::Manager m(*layout, s.cgroup_paths);
    if (auto st = m.add_process(static_cast<pid_t>(pid)); !st) {
      kill_child();
      return std::move(st).error();
    }
  }
  if (auto st = send_msg(parent_sock.get(), Msg::go); !st) {
    kill_child();
    return std::move(st).error();
  }
  auto m = recv_msg(parent_sock.get());
  if (m && m->type == Msg::error) {
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return Error{m->err, m->payload};
  }
  UniqueFd master;
  if (console_peer.valid()) {
    auto r = recv_fd(console_peer.get());
    if (r) master = std::move(*r);
  }
  if (!o.pid_file.empty())
    OCL_CHECK_CTX(fs::write_file_atomic(o.pid_file, std::to_string(pid)), "write pid file");
  if (o.detach) return 0;
  return supervise(static_cast<pid_t>(pid), master.valid() ? master.get() : -1, *signals);
}

}  // namespace ocelot::runtime
