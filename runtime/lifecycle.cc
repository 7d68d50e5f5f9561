// start, state, kill, delete, ps, pause, resume, update, stats: the operations on an existing
// container, each reading the state directory, checking the operation against the container's
// status (spec/status.h), then acting on the init and the cgroup.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/failpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "cgroups/manager.h"
#include "namespaces/join.h"
#include "namespaces/rootfs.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/isolation.h"
#include "runtime/state_store.h"

namespace ocelot::runtime {

namespace {

struct Loaded {
  UniqueFd lock;
  Stored s;
  spec::ContainerStatus status{};
};

Result<Loaded> load_locked(const StateStore& store, const std::string& id, UniqueFd held = UniqueFd(),
                           const Stored* known = nullptr) {
  Loaded l;
  l.lock = held.valid() ? std::move(held) : OCL_TRY(store.lock(id));
  l.s = known ? *known : OCL_TRY(store.load(id));
  // A record handed over by create comes with the lock create held throughout: not paused.
  l.status = OCL_TRY(container_status(store, l.s, /*check_freezer=*/known == nullptr));
  return l;
}

Result<std::unique_ptr<cgroups::Manager>> manager_for(const Stored& s) {
  auto layout = OCL_TRY(cgroups::detect_layout());
  return cgroups::make_manager(layout, s.cgroup_paths);
}

// Sends sig to the init only if it is still the process we started (pidfd: no pid-reuse race).
Status signal_init(const Stored& s, int sig) {
  int pfd = s.init.pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, s.init.pid, 0)) : -1;
  if (pfd < 0) {
    if (s.init.pid <= 0 || errno == ESRCH) return Error{ESRCH, "container not running"};
    return Error::last("pidfd_open " + std::to_string(s.init.pid));
  }
  UniqueFd fd(pfd);
  if (!s.init.alive()) return Error{ESRCH, "container not running"};
  if (::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) != 0)
    return Error::last("send signal " + std::to_string(sig) + " to pid " + std::to_string(s.init.pid));
  return ok();
}

void wait_gone(const ProcessRef& p, int timeout_ms) {
  if (p.pid <= 0) return;
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  if (pfd < 0) return;
  UniqueFd fd(pfd);
  if (!p.alive()) return;
  struct pollfd q = {fd.get(), POLLIN, 0};
  ::poll(&q, 1, timeout_ms);
}

bool has_cgroup(const Stored& s) { return !s.cgroup_paths.v1.empty() || !s.cgroup_paths.v2.empty(); }

Status need_cgroup(const Stored& s, const char* what) {
  if (has_cgroup(s)) return ok();
  return Error::make(std::string("cannot ") + what + " container " + quote(s.id) +
                     ": it has no cgroup of its own (rootless, without a delegated cgroup)");
}

// Every process of the host in pid namespace init_ns (rootless containers without a cgroup).
std::vector<pid_t> processes_in_pid_ns(const std::string& init_ns) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    pid_t p = ::atoi(e->d_name);
    if (p > 0 && ns::same_namespace("/proc/" + std::to_string(p) + "/ns/pid", init_ns)) out.push_back(p);
  }
  ::closedir(d);
  return out;
}

// The container's processes. In a cgroup ocelot made: all of them. In a shared cgroup: only those
// in the container's own pid namespace (never a process ocelot did not start); without a cgroup
// (rootless), those in its own pid namespace; without either, only the init.
Result<std::vector<pid_t>> container_processes(const Stored& s, cgroups::Manager& m) {
  if (!has_cgroup(s)) {
    if (!s.init.alive()) return std::vector<pid_t>{};
    if (!s.own_pid_ns) return std::vector<pid_t>{s.init.pid};
    return processes_in_pid_ns("/proc/" + std::to_string(s.init.pid) + "/ns/pid");
  }
  auto all = OCL_TRY(m.pids());
  if (s.cgroup_owned) return all;
  std::vector<pid_t> out;
  if (!s.own_pid_ns || !s.init.alive()) {
    if (s.init.alive()) out.push_back(s.init.pid);
    return out;
  }
  std::string init_ns = "/proc/" + std::to_string(s.init.pid) + "/ns/pid";
  for (pid_t p : all)
    if (ns::same_namespace("/proc/" + std::to_string(p) + "/ns/pid", init_ns)) out.push_back(p);
  return out;
}

Status signal_all(const Stored& s, cgroups::Manager& m, int sig) {
  if (s.cgroup_owned && has_cgroup(s)) return cgroups::kill_all(m, sig);
  for (pid_t p : OCL_TRY(container_processes(s, m)))
    if (::kill(p, sig) != 0 && errno != ESRCH) return Error::last("kill " + std::to_string(p));
  return ok();
}

Result<std::string> hook_state(const StateStore& store, const Stored& s, spec::ContainerStatus st) {
  spec::State out = to_spec_state(s, st, OCL_TRY(store.load_annotations(s.id)));
  if (st == spec::ContainerStatus::stopped) out.pid = 0;
  return spec::state_to_hook_json(out);
}

}  // namespace

Status start_container(const Globals& g, const std::string& id, UniqueFd held, const Stored* known) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id, std::move(held), known));
  OCL_CHECK(spec::check_operation(l.status, spec::Operation::start, id));
  std::string fifo = store.fifo(id);
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENXIO) return Error::make("cannot start a container that has stopped");
    return Error::last("open " + quote(fifo));
  }
  // sync 5: one byte releases the init stub.
  if (::write(fd.get(), "0", 1) != 1) return Error::last("write " + quote(fifo));
  failpoint("start.fifo-written");
  ::unlink(fifo.c_str());
  // The stub keeps the fifo open (close-on-exec) until the workload's execve: its last reader
  // gone is POLLERR on our end (pipe(7)). Then poststart hooks may run (runtime-spec: after the
  // user process is executed, before start returns).
  for (;;) {
    struct pollfd p = {fd.get(), 0, 0};
    int n = ::poll(&p, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::last("wait for the container process to start");
    if (p.revents & (POLLERR | POLLHUP)) break;
  }
  int pending = 0;
  if (::ioctl(fd.get(), FIONREAD, &pending) != 0) return Error::last("read the start result");
  if (pending == 0)
    return Error::make("container " + quote(id) +
                       " stopped before its process was executed (a startContainer hook or the "
                       "setup after start failed: the container's stderr says which)");
  failpoint("start.started");
  if (l.s.has_poststart) {
    std::string sj = OCL_TRY(hook_state(store, l.s, spec::ContainerStatus::running));
    spec::Config c = OCL_TRY(store.load_config(id));
    // Poststart failures are warnings (config.md).
    for (size_t i = 0; i < c.hooks.poststart.size(); ++i)
      if (auto st = run_hook(c.hooks.poststart[i], sj, "poststart", i); !st) log::warn(st.error().msg);
  }
  return ok();
}

Result<spec::State> container_state(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(id));
  auto status = OCL_TRY(container_status(store, s));
  return to_spec_state(s, status, OCL_TRY(store.load_annotations(id)));
}

Result<std::vector<spec::State>> list_containers(const Globals& g, bool with_annotations) {
  StateStore store(g.root);
  std::vector<spec::State> out;
  for (const auto& id : OCL_TRY(store.ids())) {
    auto s = store.load(id);
    if (!s) {
      if (s.error().code != ENOENT) log::warn("list: container " + quote(id) + ": " + s.error().msg);
      continue;  // deleted meanwhile, or unreadable (said so)
    }
    auto status = container_status(store, *s);
    if (!status) {
      log::warn("list: container " + quote(id) + ": " + status.error().msg);
      continue;
    }
    std::map<std::string, std::string> ann;
    if (with_annotations) {
      auto a = store.load_annotations(id);
      if (a) ann = std::move(*a);
    }
    out.push_back(to_spec_state(*s, *status, std::move(ann)));
    // runc's list: the owner is whoever owns the state directory (`state` says "").
    struct stat st;
    if (::stat(store.dir(id).c_str(), &st) == 0) out.back().owner = fs::user_name(st.st_uid);
  }
  return out;
}

Status kill_container(const Globals& g, const std::string& id, int sig, bool all) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(id));
  auto status = OCL_TRY(container_status(store, s));
  OCL_CHECK(spec::check_operation(status, all ? spec::Operation::kill_all : spec::Operation::kill, id));
  if (!all) return signal_init(s, sig);
  auto m = OCL_TRY(manager_for(s));
  OCL_CHECK(signal_all(s, *m, sig));
  if (status == spec::ContainerStatus::paused && sig == SIGKILL) (void)m->freeze(false);
  return ok();
}

Status delete_container(const Globals& g, const std::string& id, bool force, const Stored* known) {
  StateStore store(g.root);
  auto lr = load_locked(store, id, UniqueFd(), known);
  if (!lr) {
    if (force && lr.error().code == ENOENT) return ok();
    return std::move(lr).error();
  }
  Loaded& l = *lr;
  OCL_CHECK(spec::check_operation(l.status, force ? spec::Operation::remove_force : spec::Operation::remove, id));
  auto m = OCL_TRY(manager_for(l.s));
  if (l.status != spec::ContainerStatus::stopped) {
    (void)signal_init(l.s, SIGKILL);
    (void)signal_all(l.s, *m, SIGKILL);
    if (l.status == spec::ContainerStatus::paused) (void)m->freeze(false);
    wait_gone(l.s.init, 10000);
  }
  failpoint("delete.killed");
  // Host hooks of a create that was killed while they ran: each in its own process group.
  store.kill_hooks(id);
  Status first;
  if (l.s.cgroup_owned) {
    if (auto st = cgroups::destroy(*m); !st) first = std::move(st).error().wrap("remove cgroup");
  } else if (auto st = cgroups::remove_levels(l.s.cgroup_made); !st) {
    // Processes ocelot did not start moved in: their directory stays (never killed).
    log::warn("shared cgroup of container " + quote(id) + ": " + st.error().msg + ": left in place");
  }
  failpoint("delete.cgroup-removed");
  if (l.s.host_mount_ns && !l.s.rootfs.empty())
    if (auto st = ns::unmount_under(l.s.rootfs); !st && first.ok()) first = st;
  if (l.s.has_poststop && l.s.phase == spec::ContainerStatus::created) {
    auto sj = hook_state(store, l.s, spec::ContainerStatus::stopped);
    auto c = store.load_config(id);
    if (!sj || !c) {
      log::warn("poststop hooks not run: " + (!sj ? sj.error().msg : c.error().msg));
    } else {
      for (size_t i = 0; i < c->hooks.poststop.size(); ++i)
        if (auto st = run_hook(c->hooks.poststop[i], *sj, "poststop", i); !st) log::warn(st.error().msg);
    }
  }
  failpoint("delete.before-state-removed");
  auto rm = store.remove(id);
  if (!rm && first.ok()) first = rm;
  return first;
}

Result<std::vector<pid_t>> container_pids(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(id));
  auto m = OCL_TRY(manager_for(s));
  return container_processes(s, *m);
}

Status pause_container(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id));
  OCL_CHECK(spec::check_operation(l.status, spec::Operation::pause, id));
  OCL_CHECK(need_cgroup(l.s, "pause"));
  if (!l.s.cgroup_owned)
    return Error::make("cannot pause container " + quote(id) +
                       ": its cgroup is shared with processes it did not start");
  auto m = OCL_TRY(manager_for(l.s));
  return m->freeze(true);
}

Status resume_container(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id));
  OCL_CHECK(spec::check_operation(l.status, spec::Operation::resume, id));
  OCL_CHECK(need_cgroup(l.s, "resume"));
  auto m = OCL_TRY(manager_for(l.s));
  return m->freeze(false);
}

Status update_container(const Globals& g, const std::string& id, const spec::Resources& r) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id));
  OCL_CHECK(spec::check_operation(l.status, spec::Operation::update, id));
  OCL_CHECK(need_cgroup(l.s, "update"));
  auto m = OCL_TRY(manager_for(l.s));
  if (r.memory && r.memory->check_before_update.value_or(false) && r.memory->limit && *r.memory->limit > 0) {
    // runtime-spec: refuse a limit below what the container already uses.
    auto usage = m->stats().mem_usage;
    if (static_cast<uint64_t>(*r.memory->limit) < usage)
      return Error::make("memory limit " + std::to_string(*r.memory->limit) + " is below the current usage " +
                         std::to_string(usage));
  }
  std::vector<spec::DeviceCgroup> extra;
  if (!r.devices.empty()) {
    spec::Config c = OCL_TRY(store.load_config(id));
    if (c.linux) extra = cgroups::device_node_rules(c.linux->devices);
  }
  return m->apply(r, extra);
}

Result<cgroups::Stats> container_stats(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(id));
  OCL_CHECK(need_cgroup(s, "read the stats of"));
  auto m = OCL_TRY(manager_for(s));
  return m->stats();
}

}  // namespace ocelot::runtime
