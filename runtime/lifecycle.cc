// start, state, list, kill, delete, ps, pause, resume, update: the operations on an existing
// container, each reading the state directory and the live process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/manager.h"
#include "cgroups/stats.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/state_store.h"
#include "spec/parse.h"

namespace ocelot::runtime {

namespace {

struct Loaded {
  UniqueFd lock;
  Stored s;
  std::string status;
};

Result<Loaded> load_locked(const StateStore& store, const std::string& id) {
  Loaded l;
  l.lock = OCL_TRY(store.lock(id));
  l.s = OCL_TRY(store.load(id));
  l.status = container_status(store, l.s);
  return l;
}

Result<cgroups::Manager> manager_for(const Stored& s) {
  auto layout = OCL_TRY(cgroups::detect_layout());
  return cgroups::Manager(layout, s.cgroup_paths);
}

// Sends sig to pid only if it is still the process we started (pidfd: no pid-reuse race).
Status signal_init(const Stored& s, int sig) {
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0));
  if (pfd < 0) {
    if (errno == ESRCH) return Error{ESRCH, "container not running"};
    return Error::last("pidfd_open " + std::to_string(s.pid));
  }
  UniqueFd fd(pfd);
  if (!process_alive(s.pid, s.pid_start)) return Error{ESRCH, "container not running"};
  if (::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) != 0)
    return Error::last("send signal " + std::to_string(sig) + " to pid " + std::to_string(s.pid));
  return ok();
}

void wait_gone(const Stored& s, int timeout_ms) {
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0));
  if (pfd < 0) return;
  UniqueFd fd(pfd);
  if (!process_alive(s.pid, s.pid_start)) return;
  struct pollfd p = {fd.get(), POLLIN, 0};
  ::poll(&p, 1, timeout_ms);
}

std::optional<spec::Config> stored_config(const StateStore& store, const std::string& id) {
  auto t = store.load_config_text(id);
  if (!t) return std::nullopt;
  auto c = spec::parse_config(*t);
  if (!c) return std::nullopt;
  return std::move(*c);
}

}  // namespace

Status start_container(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id));
  if (l.status == "stopped") return Error::make("cannot start a container that has stopped");
  if (l.status != "created") return Error::make("cannot start an already running container");
  std::string fifo = store.fifo(id);
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENXIO) return Error::make("cannot start a container that has stopped");
    return Error::last("open \"" + fifo + "\"");
  }
  // sync 5: one byte releases the init into execve.
  if (::write(fd.get(), "0", 1) != 1) return Error::last("write \"" + fifo + "\"");
  fd.reset();
  ::unlink(fifo.c_str());
  if (auto c = stored_config(store, id); c && !c->hooks.poststart.empty()) {
    std::string sj = spec::state_to_hook_json(to_spec_state(l.s, "running"));
    // Poststart failures are warnings (config.md).
    for (size_t i = 0; i < c->hooks.poststart.size(); ++i)
      if (auto st = run_hook(c->hooks.poststart[i], sj, "poststart", i); !st) log::warn(st.error().msg);
  }
  return ok();
}

Result<spec::State> container_state(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(id));
  return to_spec_state(s, container_status(store, s));
}

Result<std::vector<spec::State>> list_containers(const Globals& g) {
  StateStore store(g.root);
  std::vector<spec::State> out;
  for (const auto& id : OCL_TRY(store.ids())) {
    auto s = store.load(id);
    if (!s) continue;  // deleted meanwhile
    out.push_back(to_spec_state(*s, container_status(store, *s)));
  }
  return out;
}

Status kill_container(const Globals& g, const std::string& id, int sig, bool all) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(id));
  std::string status = container_status(store, s);
  if (status == "stopped" && !all) return Error::make("container not running");
  if (all) {
    auto m = OCL_TRY(manager_for(s));
    OCL_CHECK(m.kill_all(sig));
    if (status == "paused" && sig == SIGKILL) (void)m.freeze(false);
    return ok();
  }
  return signal_init(s, sig);
}

Status delete_container(const Globals& g, const std::string& id, bool force) {
  StateStore store(g.root);
  auto lr = load_locked(store, id);
  if (!lr) {
    if (force && lr.error().code == ENOENT) return ok();
    return std::move(lr).error();
  }
  Loaded& l = *lr;
  if ((l.status == "running" || l.status == "paused") && !force)
    return Error::make("cannot delete container " + id + " that is not stopped: " + l.status);
  auto m = manager_for(l.s);
  if (l.status != "stopped") {
    (void)signal_init(l.s, SIGKILL);
    if (m) {
      (void)m->kill_all(SIGKILL);
      if (l.status == "paused") (void)m->freeze(false);
    }
    wait_gone(l.s, 10000);
  }
  Status first;
  if (m) {
    auto st = m->destroy();
    if (!st) first = std::move(st).error().wrap("remove cgroup");
  }
  if (auto c = stored_config(store, id); c && !c->hooks.poststop.empty()) {
    std::string sj = spec::state_to_hook_json(to_spec_state(l.s, "stopped"));
    for (size_t i = 0; i < c->hooks.poststop.size(); ++i)
      if (auto st = run_hook(c->hooks.poststop[i], sj, "poststop", i); !st) log::warn(st.error().msg);
  }
  auto rm = store.remove(id);
  if (!rm && first.ok()) first = rm;
  return first;
}

Result<std::vector<pid_t>> container_pids(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Stored s = OCL_TRY(store.load(id));
  auto m = OCL_TRY(manager_for(s));
  return m.pids();
}

Status pause_container(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id));
  if (l.status != "running" && l.status != "created") return Error::make("container not running");
  auto m = OCL_TRY(manager_for(l.s));
  return m.freeze(true);
}

Status resume_container(const Globals& g, const std::string& id) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id));
  if (l.status != "paused") return Error::make("container not paused");
  auto m = OCL_TRY(manager_for(l.s));
  return m.freeze(false);
}

Status update_container(const Globals& g, const std::string& id, const spec::Resources& r) {
  StateStore store(g.root);
  Loaded l = OCL_TRY(load_locked(store, id));
  if (l.status == "stopped") return Error::make("container not running");
  auto m = OCL_TRY(manager_for(l.s));
  if (r.memory && r.memory->check_before_update.value_or(false) && r.memory->limit && *r.memory->limit >= 0) {
    // runtime-spec: refuse a limit below what the container already uses.
    auto usage = cgroups::read_stats(m).mem_usage;
    if (static_cast<uint64_t>(*r.memory->limit) < usage)
      return Error::make("memory limit " + std::to_string(*r.memory->limit) + " is below the current usage " +
                         std::to_string(usage));
  }
  return m.apply(r);
}

}  // namespace ocelot::runtime
