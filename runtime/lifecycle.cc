// The lifecycle every backend shares: create's core, then the operations on an existing container.
#include "runtime/lifecycle.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <optional>

#include "base/failpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "cgroups/driver.h"
#include "cgroups/systemd.h"
#include "cgroups/systemd_plan.h"
#include "namespaces/join.h"
#include "namespaces/safe_path.h"
#include "namespaces/user_ns.h"
#include "runtime/console.h"
#include "runtime/container_backend.h"
#include "runtime/criu_rpc.h"
#include "runtime/hooks.h"
#include "runtime/rootless.h"
#include "runtime/safe_exe.h"
#include "runtime/status.h"
#include "runtime/supervise.h"

namespace ocelot::runtime {

// -- helpers every operation uses --------------------------------------------------------------

cgroups::DriverOptions driver_options(const std::string& id) {
  cgroups::DriverOptions o;
  o.systemd_helper = fs::dirname(self_path()) + "/ocelot-systemd";
  o.description = "ocelot container " + id;
  return o;
}

Result<std::unique_ptr<cgroups::Manager>> manager_for(const Stored& s) {
  auto layout = OCL_TRY(cgroups::detect_layout());
  auto driver = cgroups::parse_driver(s.cgroup_driver);
  if (!driver)
    return Error::make("state of container " + quote(s.id) + ": unknown cgroup driver " + quote(s.cgroup_driver));
  return cgroups::make_manager(*driver, layout, s.cgroup_paths, driver_options(s.id));
}

bool has_cgroup(const Stored& s) { return !s.cgroup_paths.v1.empty() || !s.cgroup_paths.v2.empty(); }

Status need_cgroup(const Stored& s, const char* what) {
  if (has_cgroup(s)) return ok();
  return Error::make(std::string("cannot ") + what + " container " + quote(s.id) +
                     ": it has no cgroup of its own (rootless, without a delegated cgroup)");
}

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

void wait_gone(const ProcessRef& p, int timeout_ms) {
  if (p.pid <= 0) return;
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  if (pfd < 0) return;
  UniqueFd fd(pfd);
  if (!p.alive()) return;
  struct pollfd q = {fd.get(), POLLIN, 0};
  ::poll(&q, 1, timeout_ms);
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

Result<std::string> hook_state(const StateStore& store, const Stored& s, spec::ContainerStatus st) {
  spec::State out = to_spec_state(s, st, OCL_TRY(store.load_annotations(s.id)));
  if (st == spec::ContainerStatus::stopped) out.pid = 0;
  return spec::state_to_hook_json(out);
}

void run_warning_hooks(const std::vector<spec::Hook>& hooks, const std::string& state, const char* kind) {
  // Poststart and poststop failures are warnings (config.md).
  for (size_t i = 0; i < hooks.size(); ++i)
    if (auto st = run_hook(hooks[i], state, kind, i); !st) log::warn(st.error().msg);
}

std::string abs_pid_file(const std::string& path) {
  char buf[PATH_MAX];
  std::string dir = fs::dirname(path);
  return std::string(::realpath(dir.c_str(), buf) ? buf : dir) + "/" + fs::basename(path);
}

// -- create's core, step by step ----------------------------------------------------------------

Status check_console(const Creation& c) {
  return check_console_options(c.b.config.process->terminal, !c.o.console_socket.empty(),
                               c.mode == LaunchMode::detached);
}

// Where the container's cgroup goes, by which driver, and what its /sys/fs/cgroup shows.
Status place_cgroup(Creation& c) {
  c.layout = OCL_TRY(cgroups::detect_layout());
  auto own_text = fs::read_file("/proc/self/cgroup");
  auto own = cgroups::parse_proc_cgroup(own_text ? *own_text : "");
  cgroups::Driver driver = c.g.systemd_cgroup ? cgroups::Driver::systemd : cgroups::Driver::cgroupfs;
  std::string path = c.b.config.linux->cgroups_path;
  if (driver == cgroups::Driver::systemd) {
    if (!cgroups::systemd_running())
      return Error::make("systemd not running on this host, cannot use systemd cgroups manager");
    path = cgroups::systemd_cgroups_path(OCL_TRY(cgroups::systemd_unit_name(path, c.o.id)));
  }
  auto paths = OCL_TRY(cgroups::resolve_paths(c.layout, path, c.o.id, own, driver == cgroups::Driver::systemd));
  c.shown = paths;
  if (OCL_TRY(rootless_mode(c.g))) {
    auto plan = OCL_TRY(plan_rootless_cgroups(c.o.id, *c.b.config.linux, first_unwritable_cgroup(paths)));
    if (!plan.own_cgroup) {
      log::warn(plan.warning);
      c.shown = cgroups::own_paths(c.layout, own);
      paths = cgroups::Paths{};  // nothing to create, join, limit or remove
    }
  }
  c.cg = OCL_TRY(cgroups::make_manager(driver, c.layout, paths, driver_options(c.o.id)));
  c.rec.cgroup_driver = cgroups::driver_name(driver);
  c.rec.cgroup_paths = paths;
  c.rec.cgroup_owned = !c.cg->occupied();
  if (!c.rec.cgroup_owned) {
    c.rec.cgroup_made = cgroups::missing_levels(paths);
    log::warn("cgroup of container " + quote(c.o.id) +
              " already holds processes that ocelot did not start: it is shared, and "
              "ocelot will neither signal them nor remove the cgroup");
  }
  return ok();
}

// State dir (locked) and record 1: everything a `delete --force` needs if we die from here on.
Status record_creating(Creation& c) {
  c.lock = OCL_TRY(c.store.create_dir(c.o.id));
  c.dir_made = true;
  OCL_CHECK(place_cgroup(c));
  Stored& r = c.rec;
  r.id = c.o.id;
  r.phase = spec::ContainerStatus::creating;
  r.backend = std::string(c.be.name());
  r.creator = OCL_TRY(process_ref(::getpid()));
  r.bundle = c.b.dir;
  r.rootfs = c.b.rootfs;
  r.created = spec::now_rfc3339_nano();
  r.own_pid_ns = c.b.ns.new_pid;
  r.host_mount_ns = !c.b.ns.has("mount");
  r.has_poststart = !c.b.config.hooks.poststart.empty();
  r.has_poststop = !c.b.config.hooks.poststop.empty();
  if (c.b.ns.new_user) r.uid_map = ns::id_map_text(c.b.config.linux->uid_mappings);
  OCL_CHECK(c.store.save(r));
  return c.store.save_config(c.o.id, c.b.config_without_annotations, c.b.config.annotations);
}

// Record 2: the process's identity, before anything can leave it running without us. Needed only
// when its cgroup cannot find it (shared, or none: rootless); each record is a file write and
// rename on the start path. In its own cgroup `delete --force` finds it there.
Status record_process(Creation& c) {
  c.rec.init = ProcessRef{c.child, 0};  // its start time is read once it waits (record_created)
  const auto& cp = c.rec.cgroup_paths;
  if (c.rec.cgroup_owned && (!cp.v1.empty() || !cp.v2.empty())) return ok();
  auto ref = process_ref(c.child);
  if (ref) c.rec.init = *ref;
  return c.store.save(c.rec);
}

// The cgroup: made and limited, then joined by the process (which waits for that).
Status join_cgroup(Creation& c) {
  OCL_CHECK_CTX(c.cg->create(), "create cgroup");
  failpoint("create.cgroup-made");
  if (auto r = c.be.host_resources(c))
    OCL_CHECK_CTX(c.cg->apply(*r, cgroups::device_node_rules(c.b.config.linux->devices)), "apply cgroup resources");
  OCL_CHECK(c.cg->add_process(c.child));
  failpoint("create.cgroup-joined");
  log::step("in its cgroups");
  return ok();
}

Status record_created(Creation& c) {
  if (c.b.has_host_hooks()) c.store.forget_hooks(c.o.id);  // they belong to the container now
  c.rec.phase = spec::ContainerStatus::created;
  // The process waits for `start` now: reading its start time no longer competes with its setup.
  if (c.rec.init.start == 0) {
    auto ref = process_ref(c.child);
    if (ref) c.rec.init = *ref;
  }
  OCL_CHECK(c.store.save(c.rec));
  if (!c.o.pid_file.empty())
    OCL_CHECK_CTX(fs::write_file_atomic(abs_pid_file(c.o.pid_file), std::to_string(c.rec.init.pid)), "write pid file");
  return ok();
}

}  // namespace

Status run_create_hooks(Creation& c) {
  const auto& hooks = c.b.config.hooks;
  if (hooks.prestart.empty() && hooks.create_runtime.empty()) return ok();
  HookTracker tracker;
  // Kept when a hook ends: what it left running in its process group goes too if this create
  // fails or is killed (delete --force); a create that succeeds forgets them all.
  tracker.started = [&](pid_t hp) {
    auto r = process_ref(hp);
    if (r) c.store.record_hook(c.o.id, *r);
  };
  std::string sj = spec::state_to_hook_json(creating_state(c));
  OCL_CHECK(run_hooks(hooks.prestart, sj, "prestart", &tracker));
  return run_hooks(hooks.create_runtime, sj, "createRuntime", &tracker);
}

spec::State creating_state(const Creation& c) {
  spec::State s;
  s.id = c.o.id;
  s.status = spec::ContainerStatus::creating;
  s.pid = c.rec.init.pid;
  s.bundle = c.b.dir;
  s.annotations = c.b.config.annotations;
  return s;
}

Status Creation::adopt(pid_t pid) {
  child = pid;
  OCL_CHECK(record_process(*this));
  OCL_CHECK(cg->add_process(pid));
  return ok();
}

Creation::~Creation() {
  if (committed || !dir_made) return;
  if (child > 0) {
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  be.undo(*this);
  if (cg && rec.cgroup_owned) (void)cgroups::destroy(*cg);
  if (!rec.cgroup_owned) (void)cgroups::remove_levels(rec.cgroup_made);
  (void)store.remove(o.id);
}

Result<Launched> Lifecycle::create_for(const CreateOptions& o, LaunchMode mode, bool start_follows) {
  OCL_CHECK(validate_id(o.id));
  Creation c(*be_, g_, o, mode, start_follows);
  c.b = OCL_TRY(load_bundle(o.bundle, o.config_text));
  log::step("bundle loaded");
  OCL_CHECK(check_console(c));
  OCL_CHECK(be_->load(c));
  OCL_CHECK(record_creating(c));
  OCL_CHECK(be_->prepare(c));
  log::step("host prepared (state, cgroup placement, sockets)");
  failpoint("create.state-recorded");
  OCL_CHECK(be_->spawn(c));
  failpoint("create.init-cloned");
  if (auto st = record_process(c); !st) return be_->why_failed(c, std::move(st).error());
  if (auto st = join_cgroup(c); !st) return be_->why_failed(c, std::move(st).error());
  OCL_CHECK(be_->complete(c));
  log::step("ready");
  failpoint("create.init-ready");
  OCL_CHECK(record_created(c));
  log::step("created recorded");
  failpoint("create.recorded");
  Launched out;
  out.pid = c.rec.init.pid;
  OCL_CHECK(be_->hand_over(c, out));
  if (start_follows) {
    out.lock = std::move(c.lock);
    out.record = std::make_shared<const Stored>(c.rec);
  }
  c.committed = true;
  return out;
}

Status Lifecycle::create(const CreateOptions& o) {
  auto r = create_for(o, LaunchMode::detached, false);
  if (!r) return std::move(r).error();
  return ok();
}

// -- start and run ------------------------------------------------------------------------------

Status Lifecycle::start_locked(const std::string& id, UniqueFd held, Launched* l) {
  Loaded ld = OCL_TRY(load_locked(store_, id, std::move(held), l ? l->record.get() : nullptr));
  OCL_CHECK(spec::check_operation(ld.status, spec::Operation::start, id));
  OCL_CHECK(be_->start(store_, ld.s, l));
  failpoint("start.started");
  // runtime-spec: poststart hooks run after the user process is executed, before start returns.
  if (ld.s.has_poststart) {
    std::string sj = OCL_TRY(hook_state(store_, ld.s, spec::ContainerStatus::running));
    spec::Config c = OCL_TRY(store_.load_config(id));
    run_warning_hooks(c.hooks.poststart, sj, "poststart");
  }
  return ok();
}

Status Lifecycle::start(const std::string& id) { return start_locked(id, UniqueFd(), nullptr); }

Result<int> Lifecycle::run(const CreateOptions& o, bool detach, bool keep) {
  // Signals are blocked from before the container's process exists, so none is lost.
  std::optional<SignalBlock> signals;
  if (!detach) signals.emplace();
  Launched l = OCL_TRY(create_for(o, detach ? LaunchMode::detached : LaunchMode::foreground, true));
  if (auto st = start_locked(o.id, std::move(l.lock), &l); !st) {
    (void)remove_known(o.id, true, nullptr);
    return std::move(st).error();
  }
  if (detach) return 0;
  log::step("started");
  auto code = be_->wait(l, *signals);
  log::step("exited");
  if (!keep) {
    auto d = remove_known(o.id, true, l.record.get());
    log::step("deleted");
    if (!d && code) return std::move(d).error();
  }
  return code;
}

// -- the operations on an existing container ----------------------------------------------------

Result<int> Lifecycle::exec(const ExecOptions& o) {
  Stored s = OCL_TRY(store_.load(o.id));
  auto status = OCL_TRY(container_status(store_, s));
  OCL_CHECK(spec::check_operation(status, spec::Operation::exec, o.id, o.ignore_paused));
  return be_->exec(store_, s, status, o);
}

Status Lifecycle::kill(const std::string& id, int sig, bool all) {
  Stored s = OCL_TRY(store_.load(id));
  auto status = OCL_TRY(container_status(store_, s));
  OCL_CHECK(spec::check_operation(status, all ? spec::Operation::kill_all : spec::Operation::kill, id));
  return be_->signal(store_, s, status, sig, all);
}

Status Lifecycle::remove(const std::string& id, bool force) { return remove_known(id, force, nullptr); }

Status Lifecycle::remove_known(const std::string& id, bool force, const Stored* known) {
  auto lr = load_locked(store_, id, UniqueFd(), known);
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
  store_.kill_hooks(id);
  be_->on_delete(l.s);
  Status first;
  if (l.s.cgroup_owned) {
    if (auto st = cgroups::destroy(*m); !st) first = std::move(st).error().wrap("remove cgroup");
  } else if (auto st = cgroups::remove_levels(l.s.cgroup_made); !st) {
    // Processes ocelot did not start moved in: their directory stays (never killed).
    log::warn("shared cgroup of container " + quote(id) + ": " + st.error().msg + ": left in place");
  }
  failpoint("delete.cgroup-removed");
  if (l.s.has_poststop && l.s.phase == spec::ContainerStatus::created) {
    auto sj = hook_state(store_, l.s, spec::ContainerStatus::stopped);
    auto c = store_.load_config(id);
    if (!sj || !c)
      log::warn("poststop hooks not run: " + (!sj ? sj.error().msg : c.error().msg));
    else
      run_warning_hooks(c->hooks.poststop, *sj, "poststop");
  }
  failpoint("delete.before-state-removed");
  auto rm = store_.remove(id);
  if (!rm && first.ok()) first = rm;
  return first;
}

Result<spec::State> Lifecycle::state(const std::string& id) {
  Stored s = OCL_TRY(store_.load(id));
  auto status = OCL_TRY(container_status(store_, s));
  return to_spec_state(s, status, OCL_TRY(store_.load_annotations(id)));
}

Result<std::vector<pid_t>> Lifecycle::pids(const std::string& id) {
  Stored s = OCL_TRY(store_.load(id));
  auto m = OCL_TRY(manager_for(s));
  return container_processes(s, *m);
}

Status Lifecycle::pause(const std::string& id) {
  Loaded l = OCL_TRY(load_locked(store_, id));
  OCL_CHECK(spec::check_operation(l.status, spec::Operation::pause, id));
  OCL_CHECK(need_cgroup(l.s, "pause"));
  if (!l.s.cgroup_owned)
    return Error::make("cannot pause container " + quote(id) +
                       ": its cgroup is shared with processes it did not start");
  auto m = OCL_TRY(manager_for(l.s));
  return m->freeze(true);
}

Status Lifecycle::resume(const std::string& id) {
  Loaded l = OCL_TRY(load_locked(store_, id));
  OCL_CHECK(spec::check_operation(l.status, spec::Operation::resume, id));
  OCL_CHECK(need_cgroup(l.s, "resume"));
  auto m = OCL_TRY(manager_for(l.s));
  return m->freeze(false);
}

Status Lifecycle::update(const std::string& id, const spec::Resources& r) {
  Loaded l = OCL_TRY(load_locked(store_, id));
  OCL_CHECK(spec::check_operation(l.status, spec::Operation::update, id));
  return be_->update(store_, l.s, r);
}

Result<cgroups::Stats> Lifecycle::stats(const std::string& id) {
  Stored s = OCL_TRY(store_.load(id));
  OCL_CHECK(need_cgroup(s, "read the stats of"));
  auto m = OCL_TRY(manager_for(s));
  return m->stats();
}

// -- checkpoint and restore (CRIU; runtime/criu.h) --------------------------------------------

namespace {

bool is_bind(const spec::Mount& m) {
  if (m.type == "bind") return true;
  for (const auto& o : m.options)
    if (o == "bind" || o == "rbind") return true;
  return false;
}

// A VM-isolated container's state is its whole guest, saved with QEMU's migration (as its
// templates are), but QEMU 7.2 blocks migration while a 9p export is mounted in the guest
// (hw/9pfs: "Migration is disabled when VirtFS export path ... is mounted"), and the container's
// rootfs is one for as long as it runs (docs/checkpoint.md).
constexpr const char* kVmCheckpointBlocked =
    "a VM-isolated container cannot be checkpointed: QEMU refuses to migrate a guest while a 9p share (the "
    "container's rootfs) is mounted in it";

// What CRIU cannot carry here, refused before anything is dumped or made.
Status check_checkpointable(const spec::Config& c, const std::string& id, const char* what) {
  std::string why;
  if (c.linux)
    for (const auto& n : c.linux->namespaces)
      if (!n.path.empty() && n.type != "network")
        why = "it joins the " + n.type + " namespace by path (only a network namespace can be given by path)";
  if (why.empty()) return ok();
  return Error::make(std::string("cannot ") + what + " container " + id + ": " + why);
}

std::string netns_path(const spec::Config& c) {
  if (!c.linux) return "";
  for (const auto& n : c.linux->namespaces)
    if (n.type == "network") return n.path;
  return "";
}

// The container's bind mounts, sources on the host: CRIU's external mounts. Without a cgroup
// namespace a v1 "cgroup" mount is a set of binds of the container's cgroup too (as runc tells
// CRIU); in a cgroup namespace, and on cgroup v2, they are cgroup mounts CRIU makes itself.
std::vector<ExternalMount> bind_mounts(const spec::Config& c, const std::string& bundle, const cgroups::Layout& l,
                                       const cgroups::Paths& shown) {
  std::vector<ExternalMount> out;
  bool cgroupns = false;
  if (c.linux)
    for (const auto& n : c.linux->namespaces) cgroupns = cgroupns || n.type == "cgroup";
  for (const auto& m : c.mounts) {
    if (is_bind(m)) out.push_back({m.destination, m.source.starts_with("/") ? m.source : bundle + "/" + m.source});
    if (m.type != "cgroup" || cgroupns || l.mode == cgroups::Mode::v2) continue;
    std::string dest = m.destination.ends_with("/") ? m.destination : m.destination + "/";
    for (const auto& cm : cgroup_mounts(l, shown)) out.push_back({dest + cm.name, cm.host_source});
  }
  return out;
}

std::string absolute_path(const std::string& path) {
  if (path.starts_with("/")) return path;
  char cwd[PATH_MAX];
  return std::string(::getcwd(cwd, sizeof cwd) ? cwd : ".") + "/" + path;
}

CriuOptions with_default_paths(CriuOptions o) {
  o.image_path = absolute_path(o.image_path.empty() ? "checkpoint" : o.image_path);
  if (!o.work_path.empty()) o.work_path = absolute_path(o.work_path);
  return o;
}

// The container's cgroup relative to its hierarchies' roots (CRIU's --cgroup-root).
std::string criu_cgroup_root(const cgroups::Layout& l, const cgroups::Paths& p) {
  for (const auto& [ctrl, path] : p.v1) {
    auto h = l.v1.find(ctrl);
    if (h == l.v1.end() || !path.starts_with(h->second.mount_point)) continue;
    std::string root = h->second.root == "/" ? "" : h->second.root;
    return root + path.substr(h->second.mount_point.size());
  }
  if (!p.v2.empty() && !l.v2_mount.empty() && p.v2.starts_with(l.v2_mount))
    return (l.v2_root == "/" ? "" : l.v2_root) + p.v2.substr(l.v2_mount.size());
  return "";
}

bool beneath(const std::string& path, const std::string& dir) {
  std::string d = dir.ends_with("/") ? dir : dir + "/";
  return path.starts_with(d) && path != dir;
}

// Every mountpoint CRIU will mount on in the rootfs itself (runc's prepareCriuRestoreMounts): a
// fresh rootfs (podman's --import) has none of the files and directories create made. Not those
// beneath a filesystem the config mounts (tmpfs, proc, sysfs: CRIU restores those whole), and
// resolved inside the rootfs (ns::mkdir_all_in_root), so an image's symlink cannot lead out.
Status make_restore_mountpoints(const spec::Config& c, const std::string& rootfs, const std::string& bundle) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Error::last("open rootfs " + quote(rootfs));
  for (const auto& m : c.mounts) {
    bool covered = false;
    for (const auto& other : c.mounts)
      covered = covered || (!is_bind(other) && beneath(m.destination, other.destination));
    if (covered) continue;
    struct stat st;
    std::string source = m.source.starts_with("/") ? m.source : bundle + "/" + m.source;
    bool file = is_bind(m) && ::stat(source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
    auto made =
        file ? ns::create_file_in_root(root.get(), m.destination) : ns::mkdir_all_in_root(root.get(), m.destination);
    if (!made) return std::move(made).error().wrap("mountpoint " + quote(m.destination));
  }
  return ok();
}

// The bundle's rootfs bound at <state dir>/criu-root for CRIU's --root; unbound when it goes.
struct RootBind {
  std::string path;
  void unbind() {
    if (!path.empty()) (void)::umount2(path.c_str(), MNT_DETACH);
    if (!path.empty()) (void)::rmdir(path.c_str());
    path.clear();
  }
  ~RootBind() { unbind(); }
};

}  // namespace

Status Lifecycle::checkpoint(const std::string& id, const CriuOptions& given) {
  OCL_CHECK(check_criu_options(given, false));
  CriuOptions o = with_default_paths(given);
  std::string criu = OCL_TRY(find_criu(g_.criu));
  {
    Loaded ld = OCL_TRY(load_locked(store_, id));
    if (ld.s.backend != "container")
      return Error::make("cannot checkpoint container " + id + ": " + kVmCheckpointBlocked);
    if (ld.status != spec::ContainerStatus::running && ld.status != spec::ContainerStatus::paused)
      return Error{ESRCH, "cannot checkpoint container " + id + ": container not running"};
    spec::Config c = OCL_TRY(store_.load_config(id));
    OCL_CHECK(check_checkpointable(c, id, "checkpoint"));
    OCL_CHECK_CTX(fs::mkdir_p(o.image_path, 0700), "image path " + quote(o.image_path));
    if (!o.work_path.empty()) OCL_CHECK_CTX(fs::mkdir_p(o.work_path, 0700), "work path " + quote(o.work_path));
    auto layout = OCL_TRY(cgroups::detect_layout());
    DumpPlan p{o, ld.s.init.pid, bind_mounts(c, ld.s.bundle, layout, ld.s.cgroup_paths), !netns_path(c).empty(), 0, ""};
    auto freezer = ld.s.cgroup_paths.v1.find("freezer");
    p.freeze_cgroup = freezer != ld.s.cgroup_paths.v1.end() ? freezer->second : ld.s.cgroup_paths.v2;
    if (p.external_net) {
      struct stat st;
      if (::stat(("/proc/" + std::to_string(p.pid) + "/ns/net").c_str(), &st) == 0) p.net_inode = st.st_ino;
    }
    OCL_CHECK_CTX(fs::write_file_atomic(o.image_path + "/descriptors.json", descriptors_json(stdio_descriptors(p.pid))),
                  "write descriptors.json");
    OCL_TRY(run_criu(criu, criu_dump_call(p), p.pid, o.pre_dump ? "pre-dump.log" : "dump.log", {}, nullptr));
  }  // the lock goes: delete takes it again
  if (o.leave_running || o.pre_dump) return ok();
  return remove_known(id, true, nullptr);
}

Result<int> Lifecycle::restore(const CreateOptions& o, const CriuOptions& given, bool detach) {
  OCL_CHECK(check_criu_options(given, true));
  if (o.no_pivot) return Error::make("restore --no-pivot is not supported (CRIU sets up the container's root itself)");
  CriuOptions co = with_default_paths(given);
  std::string criu = OCL_TRY(find_criu(g_.criu));
  OCL_CHECK(validate_id(o.id));
  if (be_->name() != "container") return Error::make("cannot restore container " + o.id + ": " + kVmCheckpointBlocked);
  auto dumped_text = fs::read_file(co.image_path + "/descriptors.json");
  if (!dumped_text)
    return Error::make("cannot restore container " + o.id + ": " + quote(co.image_path) +
                       " is not a checkpoint (no descriptors.json)");
  auto dumped = OCL_TRY(parse_descriptors_json(*dumped_text));
  std::optional<SignalBlock> signals;
  if (!detach) signals.emplace();
  Creation c(*be_, g_, o, LaunchMode::detached, false);
  c.b = OCL_TRY(load_bundle(o.bundle, o.config_text));
  OCL_CHECK(check_checkpointable(c.b.config, o.id, "restore"));
  bool terminal = c.b.config.process && c.b.config.process->terminal;
  OCL_CHECK(check_console_options(terminal, !o.console_socket.empty(), detach));
  OCL_CHECK(record_creating(c));
  OCL_CHECK_CTX(c.cg->create(), "create cgroup");
  if (auto r = be_->host_resources(c))
    OCL_CHECK_CTX(c.cg->apply(*r, cgroups::device_node_rules(c.b.config.linux->devices)), "apply cgroup resources");
  RestorePlan p;
  p.o = co;
  p.binds = bind_mounts(c.b.config, c.b.dir, c.layout, c.shown);
  p.cgroup_root = criu_cgroup_root(c.layout, c.rec.cgroup_paths);
  // Our stdio pipes reach CRIU as copies above its own stdio (inherit_fd entries of the
  // request), so nothing CRIU does with its stdin, stdout or stderr can touch them.
  std::vector<int> keep;
  std::vector<UniqueFd> stdio_copies;
  for (const auto& [fd, key] : inherited_stdio(dumped)) {
    stdio_copies.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
    if (!stdio_copies.back().valid()) return Error::last("restore: keep stdio " + std::to_string(fd) + " for CRIU");
    p.inherit.emplace_back(stdio_copies.back().get(), key);
    keep.push_back(stdio_copies.back().get());
  }
  UniqueFd netns;
  if (std::string path = netns_path(c.b.config); !path.empty()) {
    netns.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid()) return Error::last("open network namespace " + quote(path));
    p.inherit.emplace_back(netns.get(), "extRootNetNS");
    keep.push_back(netns.get());
  }
  OCL_CHECK(make_restore_mountpoints(c.b.config, c.b.rootfs, c.b.dir));
  RootBind root{c.store.dir(o.id) + "/criu-root"};
  OCL_CHECK_CTX(fs::mkdir_p(root.path, 0700), "make " + quote(root.path));
  if (::mount(c.b.rootfs.c_str(), root.path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return Error::last("bind " + quote(c.b.rootfs) + " for CRIU");
  p.root = root.path;
  UniqueFd master;  // a foreground restore without a console socket proxies it, as run does
  auto take_master = [&](int fd) -> Status {
    if (o.console_socket.empty()) {
      master.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
      return master.valid() ? ok() : Error::last("keep the restored pty master");
    }
    UniqueFd sock = OCL_TRY(connect_console_socket(o.console_socket));
    return send_fd(sock.get(), fd, "/dev/ptmx");
  };
  pid_t restored = OCL_TRY(run_criu(criu, criu_restore_call(p), 0, "restore.log", keep, take_master));
  root.unbind();  // the restored mount namespace holds its own root
  c.child = restored;
  if (c.child <= 0) return Error::make("criu restore named no restored process");
  OCL_CHECK(c.cg->add_process(c.child));         // its descendants: CRIU put them in the cgroup (--cgroup-root)
  c.rec.phase = spec::ContainerStatus::created;  // no exec fifo: running
  c.rec.init = OCL_TRY(process_ref(c.child));
  OCL_CHECK(c.store.save(c.rec));
  if (!o.pid_file.empty())
    OCL_CHECK_CTX(fs::write_file_atomic(abs_pid_file(o.pid_file), std::to_string(c.child)), "write pid file");
  c.committed = true;
  pid_t pid = c.child;
  c.lock.reset();
  if (detach) return 0;
  int code = OCL_TRY(supervise(pid, master.get(), *signals));
  auto d = remove_known(o.id, true, nullptr);
  if (!d) return std::move(d).error();
  return code;
}

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

}  // namespace ocelot::runtime
