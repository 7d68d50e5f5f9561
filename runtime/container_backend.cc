// The container backend's create preparation (checks, the host side prepared before the clone)
// and its commands: start (the exec fifo), run's wait, kill, update, delete's unmount.
#include "runtime/container_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "base/failpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "cgroups/manager.h"
#include "namespaces/rootfs.h"
#include "namespaces/user_ns.h"
#include "runtime/console.h"
#include "runtime/inherited_fds.h"
#include "runtime/init_stub.h"
#include "runtime/lifecycle.h"
#include "runtime/safe_exe.h"
#include "runtime/supervise.h"

namespace ocelot::runtime {

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

Status ContainerBackend::load(Creation& c) {
  const spec::Config& cfg = c.b.config;
  // An init that joins an existing pid namespace is seen there from clone() on: the process that
  // clones it must not be the host binary (runtime/safe_exe.h).
  if (!c.b.ns.pid_path.empty() && !running_from_protected_exe() &&
      container_root_can_write_binary(c.b.ns.new_user ? ns::id_map_text(cfg.linux->uid_mappings) : ""))
    OCL_CHECK(reexec_from_sealed_copy());
  pass_fds_ = OCL_TRY(fds_to_pass(c.o.preserve_fds, true, &listen_fds_));
  if (cfg.linux->seccomp) {
    filter_.emplace(OCL_TRY(SeccompFilter::build(*cfg.linux->seccomp, seccomp_cache_dir())));
    // Nothing in a config is ignored in silence: the syscalls this libseccomp does not know are
    // skipped (as runc does), and said, in one line.
    if (!filter_->skipped.empty()) {
      std::string names;
      for (const auto& s : filter_->skipped) names += (names.empty() ? "" : ", ") + s;
      log::warn("linux.seccomp: " + std::to_string(filter_->skipped.size()) + " syscall(s) unknown to libseccomp " +
                seccomp_library_version() + " skipped, as runc does: " + names);
    }
  }
  return ok();
}

// The exec fifo (created), the sync socket, the terminal's way out, the init stub, the seccomp
// program and the namespace files: all before the clone.
Status ContainerBackend::prepare(Creation& c) {
  const spec::Config& cfg = c.b.config;
  // The cgroup itself is made once the init is cloned, in parallel with its mounts; it is limited
  // and joined before the init runs any workload code.
  cgroup_mounts_ = cgroup_mounts(c.layout, c.shown);
  std::string fifo = c.store.fifo(c.o.id);
  if (::mkfifo(fifo.c_str(), 0600) != 0) return Error::last("create " + quote(fifo));
  // O_RDWR never blocks on a fifo; the init keeps this fd and blocks in read() until start.
  fifo_.reset(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
  if (!fifo_.valid()) return Error::last("open " + quote(fifo));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::last("sync socketpair");
  parent_sock_.reset(sv[0]);
  child_sock_.reset(sv[1]);
  if (cfg.process->terminal) {
    auto cc = OCL_TRY(open_console_channel(c.o.console_socket));
    console_ = std::move(cc.to_child);
    console_peer_ = std::move(cc.peer);
  }
  stub_ = OCL_TRY(make_init_stub());
  if (filter_ && !filter_->uses_notify()) bpf_ = OCL_TRY(filter_->program_memfd());
  ns_fds_ = OCL_TRY(ns::open_namespace_paths(c.b.ns));
  return ok();
}

std::optional<spec::Resources> ContainerBackend::host_resources(const Creation& c) const {
  return c.b.config.linux->resources;
}

Status ContainerBackend::hand_over(Creation&, Launched& out) {
  if (console_peer_.valid()) out.console_master = OCL_TRY(recv_fd(console_peer_.get()));
  // What only create needed goes now: our own end of exec.fifo would keep start's wait for the
  // stub's end (POLLERR at its last reader) from ever ending.
  fifo_.reset();
  parent_sock_.reset();
  console_peer_.reset();
  stub_.reset();
  bpf_.reset();
  ns_fds_ = ns::NsFds{};
  return ok();
}

void ContainerBackend::undo(Creation& c) noexcept {
  c.store.kill_hooks(c.o.id);
  if (c.rec.host_mount_ns && !c.b.rootfs.empty()) (void)ns::unmount_under(c.b.rootfs);
}

// sync 5: one byte into exec.fifo releases the init stub.
Status ContainerBackend::start(const StateStore& store, const Stored& s, Launched*) {
  std::string fifo = store.fifo(s.id);
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENXIO) return Error::make("cannot start a container that has stopped");
    return Error::last("open " + quote(fifo));
  }
  if (::write(fd.get(), "0", 1) != 1) return Error::last("write " + quote(fifo));
  failpoint("start.fifo-written");
  ::unlink(fifo.c_str());
  // The stub keeps the fifo open (close-on-exec) until the workload's execve: its last reader
  // gone is POLLERR on our end (pipe(7)). Then poststart hooks may run.
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
    return Error::make("container " + quote(s.id) +
                       " stopped before its process was executed (a startContainer hook or the "
                       "setup after start failed: the container's stderr says which)");
  return ok();
}

// run: the init is our own child, so its exit status comes straight from waitpid.
Result<int> ContainerBackend::wait(Launched& l, SignalBlock& signals) {
  return supervise(l.pid, l.console_master.valid() ? l.console_master.get() : -1, signals);
}

Status ContainerBackend::signal(const StateStore&, const Stored& s, spec::ContainerStatus st, int sig, bool all) {
  if (!all) return signal_init(s, sig);
  auto m = OCL_TRY(manager_for(s));
  OCL_CHECK(signal_all(s, *m, sig));
  if (st == spec::ContainerStatus::paused && sig == SIGKILL) (void)m->freeze(false);
  return ok();
}

Status ContainerBackend::update(const StateStore& store, const Stored& s, const spec::Resources& r) {
  OCL_CHECK(need_cgroup(s, "update"));
  auto m = OCL_TRY(manager_for(s));
  if (r.memory && r.memory->check_before_update.value_or(false) && r.memory->limit && *r.memory->limit > 0) {
    // runtime-spec: refuse a limit below what the container already uses.
    auto usage = m->stats().mem_usage;
    if (static_cast<uint64_t>(*r.memory->limit) < usage)
      return Error::make("memory limit " + std::to_string(*r.memory->limit) + " is below the current usage " +
                         std::to_string(usage));
  }
  std::vector<spec::DeviceCgroup> extra;
  if (!r.devices.empty()) {
    spec::Config c = OCL_TRY(store.load_config(s.id));
    if (c.linux) extra = cgroups::device_node_rules(c.linux->devices);
  }
  return m->apply(r, extra);
}

// Without a mount namespace the container's mounts live in ours, under its rootfs.
void ContainerBackend::on_delete(const Stored& s) noexcept {
  if (s.host_mount_ns && !s.rootfs.empty()) (void)ns::unmount_under(s.rootfs);
}

std::unique_ptr<Backend> make_container_backend(const Globals& g) { return std::make_unique<ContainerBackend>(g); }

}  // namespace ocelot::runtime
