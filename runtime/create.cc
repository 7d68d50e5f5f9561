// create, parent side: load the bundle, prepare what does not need to be inside the container
// (state dir, cgroup, fifo, sync socket, seccomp program, the init stub), clone the init straight
// into its namespaces and drive the handshake (create_handshake.cc), then record the container.
// No re-exec of ocelot on this path: the init is a clone of this process.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "base/failpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "cgroups/layout.h"
#include "namespaces/rootfs.h"
#include "namespaces/user_ns.h"
#include "runtime/console.h"
#include "runtime/container.h"
#include "runtime/creation.h"
#include "runtime/inherited_fds.h"
#include "runtime/init_stub.h"
#include "runtime/rootless.h"
#include "runtime/safe_exe.h"

namespace ocelot::runtime {

namespace {

std::string abs_path(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  return p;
}

// The cgroup mounts a container sees under a "cgroup" mount, one per host hierarchy.
std::vector<ns::CgroupMount> cgroup_mounts(const cgroups::Layout& l, const cgroups::Paths& p) {
  std::vector<ns::CgroupMount> out;
  if (l.mode == cgroups::Mode::v2) {
    out.push_back({"", "cgroup2", "", p.v2});
    return out;
  }
  std::map<std::string, std::vector<std::string>> by_mount;
  for (const auto& [c, h] : l.v1) by_mount[h.mount_point].push_back(c);
  for (const auto& [mp, ctls] : by_mount) {
    std::string data;
    for (const auto& c : ctls) data += (data.empty() ? "" : ",") + c;
    if (data.rfind("name=", 0) == 0) data = "none," + data;
    auto it = p.v1.find(ctls[0]);
    if (it != p.v1.end()) out.push_back({fs::basename(mp), "cgroup", data, it->second});
  }
  // On a hybrid host runc shows the v1 hierarchies only (no "unified"): images that look at
  // /sys/fs/cgroup (systemd) see what they see under runc.
  return out;
}

// State dir, first record, cgroup, fifo, sockets, stub, seccomp program, namespace files.
Status prepare_host(Creation& c) {
  const spec::Config& cfg = c.b.config;
  c.lock = OCL_TRY(c.store.create_dir(c.o.id));
  c.dir_made = true;

  auto layout = OCL_TRY(cgroups::detect_layout());
  auto own_text = fs::read_file("/proc/self/cgroup");
  auto own = cgroups::parse_proc_cgroup(own_text ? *own_text : "");
  auto paths = OCL_TRY(cgroups::resolve_paths(layout, cfg.linux->cgroups_path, c.o.id, own));
  // What the container's /sys/fs/cgroup shows: its own cgroup, or the caller's when it has none.
  cgroups::Paths shown = paths;
  if (OCL_TRY(rootless_mode(c.g))) {
    auto plan = OCL_TRY(plan_rootless_cgroups(c.o.id, *cfg.linux, first_unwritable_cgroup(paths)));
    if (!plan.own_cgroup) {
      log::warn(plan.warning);
      shown = cgroups::own_paths(layout, own);
      paths = cgroups::Paths{};  // nothing to create, join, limit or remove
    }
  }
  c.cg = cgroups::make_manager(layout, paths);

  // Record 1: everything a `delete --force` needs if we die from here on.
  Stored& r = c.rec;
  r.id = c.o.id;
  r.phase = spec::ContainerStatus::creating;
  r.creator = OCL_TRY(process_ref(::getpid()));
  r.bundle = c.b.dir;
  r.rootfs = c.b.rootfs;
  r.created = spec::now_rfc3339_nano();
  r.cgroup_paths = paths;
  r.cgroup_owned = !c.cg->occupied();
  if (!r.cgroup_owned) r.cgroup_made = cgroups::missing_levels(paths);
  r.own_pid_ns = c.b.ns.new_pid;
  r.host_mount_ns = !c.b.ns.has("mount");
  r.has_poststart = !cfg.hooks.poststart.empty();
  r.has_poststop = !cfg.hooks.poststop.empty();
  if (c.b.ns.new_user) r.uid_map = ns::id_map_text(cfg.linux->uid_mappings);
  OCL_CHECK(c.store.save(r));
  OCL_CHECK(c.store.save_config(c.o.id, c.b.config_without_annotations, cfg.annotations));
  if (!r.cgroup_owned)
    log::warn("cgroup of container " + quote(c.o.id) +
              " already holds processes that ocelot did not start: it is shared, and "
              "ocelot will neither signal them nor remove the cgroup");

  // The cgroup itself is made once the init is cloned (create_handshake.cc), in parallel with
  // its mounts; it is limited and joined before the init runs any workload code.
  c.cgroup_mounts = cgroup_mounts(layout, shown);

  std::string fifo = c.store.fifo(c.o.id);
  if (::mkfifo(fifo.c_str(), 0600) != 0) return Error::last("create " + quote(fifo));
  // O_RDWR never blocks on a fifo; the init keeps this fd and blocks in read() until start.
  c.fifo.reset(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
  if (!c.fifo.valid()) return Error::last("open " + quote(fifo));

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::last("sync socketpair");
  c.parent_sock.reset(sv[0]);
  c.child_sock.reset(sv[1]);
  if (cfg.process->terminal) {
    if (!c.o.console_socket.empty()) {
      c.console = OCL_TRY(connect_console_socket(c.o.console_socket));
    } else {
      int cv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) != 0) return Error::last("console socketpair");
      c.console_peer.reset(cv[0]);
      c.console.reset(cv[1]);
    }
  }
  c.stub = OCL_TRY(make_init_stub());
  if (c.filter && !c.filter->uses_notify()) c.bpf = OCL_TRY(c.filter->program_memfd());
  c.ns_fds = OCL_TRY(ns::open_namespace_paths(c.b.ns));
  return ok();
}

Status record_created(Creation& c) {
  if (c.b.has_host_hooks()) c.store.forget_hooks(c.o.id);  // they belong to the container now
  c.rec.phase = spec::ContainerStatus::created;
  // The init waits for `start` now: reading its start time no longer competes with its setup.
  if (c.rec.init.start == 0) {
    auto ref = process_ref(c.child);
    if (ref) c.rec.init = *ref;
  }
  OCL_CHECK(c.store.save(c.rec));
  if (!c.o.pid_file.empty())
    OCL_CHECK_CTX(fs::write_file_atomic(abs_path(fs::dirname(c.o.pid_file)) + "/" + fs::basename(c.o.pid_file),
                                        std::to_string(c.rec.init.pid)),
                  "write pid file");
  return ok();
}

}  // namespace

Creation::~Creation() {
  if (committed || !dir_made) return;
  if (child > 0) {
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  store.kill_hooks(o.id);
  if (cg && rec.cgroup_owned) (void)cgroups::destroy(*cg);
  if (!rec.cgroup_owned) (void)cgroups::remove_levels(rec.cgroup_made);
  if (rec.host_mount_ns && !b.rootfs.empty()) (void)ns::unmount_under(b.rootfs);
  (void)store.remove(o.id);
}

Result<Launched> create_container(const Globals& g, const CreateOptions& o, LaunchMode mode, bool start_follows) {
  OCL_CHECK(validate_id(o.id));
  Creation c(g, o, mode);
  c.b = OCL_TRY(load_bundle(o.bundle, o.config_text));
  log::step("bundle loaded");
  const spec::Config& cfg = c.b.config;
  if (cfg.process->terminal && o.console_socket.empty() && mode == LaunchMode::detached)
    return Error::make("cannot allocate tty if ocelot will detach without setting console socket");
  if (!cfg.process->terminal && !o.console_socket.empty())
    return Error::make("cannot use console socket if ocelot will not detach or allocate tty");
  // An init that joins an existing pid namespace is seen there from clone() on: the process that
  // clones it must not be the host binary (runtime/safe_exe.h).
  if (!c.b.ns.pid_path.empty() && !running_from_protected_exe() &&
      container_root_can_write_binary(c.b.ns.new_user ? ns::id_map_text(cfg.linux->uid_mappings) : ""))
    OCL_CHECK(reexec_from_sealed_copy());
  c.pass_fds = OCL_TRY(fds_to_pass(o.preserve_fds, true, &c.listen_fds));
  if (cfg.linux->seccomp) {
    c.filter.emplace(OCL_TRY(SeccompFilter::build(*cfg.linux->seccomp, seccomp_cache_dir())));
    for (const auto& s : c.filter->skipped)
      log::debug("seccomp: syscall " + quote(s) + " is unknown to libseccomp, skipped");
  }
  OCL_CHECK(prepare_host(c));
  log::step("host prepared (state, cgroups, fifo, sockets)");
  failpoint("create.state-recorded");
  OCL_CHECK(spawn_init(c));
  log::step("init cloned");
  OCL_CHECK(drive_init_handshake(c));
  log::step("init ready");
  OCL_CHECK(record_created(c));
  log::step("created recorded");
  failpoint("create.recorded");
  Launched out;
  out.pid = c.rec.init.pid;
  if (c.console_peer.valid()) out.console_master = OCL_TRY(recv_fd(c.console_peer.get()));
  if (start_follows) {
    out.lock = std::move(c.lock);
    out.record = std::make_shared<const Stored>(c.rec);
  }
  c.committed = true;
  return out;
}

}  // namespace ocelot::runtime
