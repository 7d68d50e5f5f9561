// create, parent side: prepare everything that does not need to be inside the container (state
// dir, cgroup, fifo, sync socket, seccomp filter), clone the container init straight into its new
// namespaces, then drive the handshake of docs/handshake.md. No re-exec of ocelot: the init is a
// clone of this process.
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "namespaces/mount_options.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/console.h"
#include "runtime/exec_trampoline.h"
#include "runtime/container.h"
#include "runtime/hooks.h"
#include "runtime/init_process.h"
#include "runtime/state_store.h"
#include "runtime/sync.h"
#include "spec/names.h"
#include "spec/parse.h"

namespace ocelot::runtime {

namespace {

std::string abs_path(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  return p;
}

std::string owner_name() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : std::to_string(::geteuid());
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
    out.push_back({fs::basename(mp), "cgroup", data, p.v1.at(ctls[0])});
  }
  if (!l.v2_mount.empty() && !p.v2.empty()) out.push_back({"unified", "cgroup2", "", p.v2});
  return out;
}

Status write_id_maps(pid_t pid, const spec::Linux& l) {
  std::string base = "/proc/" + std::to_string(pid);
  if (::geteuid() != 0) OCL_CHECK(fs::write_existing(base + "/setgroups", "deny"));
  OCL_CHECK_CTX(fs::write_existing(base + "/uid_map", ns::id_map_text(l.uid_mappings)), "write uid mappings");
  OCL_CHECK_CTX(fs::write_existing(base + "/gid_map", ns::id_map_text(l.gid_mappings)), "write gid mappings");
  return ok();
}

// Undo of everything create made, in reverse: used on any failure.
struct CreateCleanup {
  const StateStore* store = nullptr;
  std::string id;
  pid_t child = 0;
  std::optional<cgroups::Manager> cg;  // owned here: it must outlive the undo
  bool armed = true;
  ~CreateCleanup() {
    if (!armed) return;
    if (child > 0) {
      ::kill(child, SIGKILL);
      while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    if (cg) (void)cg->destroy();
    if (store) (void)store->remove(id);
  }
};

struct NsSetup {
  int clone_flags = 0;
  int unshare_flags = 0;
  std::vector<std::pair<int, int>> join;  // in the child, user first
  std::vector<UniqueFd> fds;
  UniqueFd pid_join, own_pid, own_time;
  bool new_userns = false, cgroupns = false, new_time = false;
};

Result<NsSetup> plan_namespaces(const spec::Config& c) {
  NsSetup s;
  const spec::Linux& l = *c.linux;
  const spec::Namespace* user = l.find_namespace("user");
  bool join_user = user && !user->path.empty();
  s.new_userns = user && user->path.empty();
  if (!l.find_namespace("mount"))
    return Error::make("linux.namespaces: a mount namespace is required to set up the rootfs");
  auto open_ns = [&](const spec::Namespace& n) -> Result<UniqueFd> {
    UniqueFd fd(::open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::last("open " + n.type + " namespace \"" + n.path + "\"");
    return fd;
  };
  if (join_user) {
    auto fd = OCL_TRY(open_ns(*user));
    s.join.emplace_back(fd.get(), CLONE_NEWUSER);
    s.fds.push_back(std::move(fd));
  }
  for (const auto& n : l.namespaces) {
    int flag = *spec::namespace_flag(n.type);
    if (flag == CLONE_NEWUSER) {
      if (s.new_userns) s.clone_flags |= flag;
      continue;
    }
    if (!n.path.empty()) {
      auto fd = OCL_TRY(open_ns(n));
      if (flag == CLONE_NEWPID) s.pid_join = std::move(fd);  // joined by the parent, for its child
      else {
        s.join.emplace_back(fd.get(), flag);
        s.fds.push_back(std::move(fd));
      }
      continue;
    }
    if (flag == CLONE_NEWCGROUP) {
      s.unshare_flags |= flag;
      s.cgroupns = true;
    } else if (flag == CLONE_NEWTIME) {
      s.new_time = true;
    } else if (flag == CLONE_NEWPID || !join_user) {
      s.clone_flags |= flag;
    } else {
      s.unshare_flags |= flag;  // owned by the joined user namespace: made after setns
    }
  }
  return s;
}

// Time and pid namespaces apply to the children of the caller: enter them around clone().
Status enter_for_child(NsSetup& s, const spec::Linux& l) {
  if (s.pid_join.valid()) {
    s.own_pid.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (::setns(s.pid_join.get(), CLONE_NEWPID) != 0) return Error::last("join pid namespace");
  }
  if (s.new_time) {
    s.own_time.reset(::open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC));
    if (::unshare(CLONE_NEWTIME) != 0) return Error::last("create time namespace");
    std::string offs;
    for (const auto& [clock, secs] : l.time_offsets_secs)
      offs += clock + " " + std::to_string(secs) + " " + std::to_string(l.time_offsets_nanosecs.at(clock)) + "\n";
    if (!offs.empty()) OCL_CHECK_CTX(fs::write_existing("/proc/self/timens_offsets", offs), "set time offsets");
  }
  return ok();
}

void leave_for_child(NsSetup& s) {
  if (s.own_pid.valid()) (void)::setns(s.own_pid.get(), CLONE_NEWPID);
  if (s.own_time.valid()) (void)::setns(s.own_time.get(), CLONE_NEWTIME);
}

int count_listen_fds() {
  const char* v = ::getenv("LISTEN_FDS");
  if (!v) return 0;
  int n = std::atoi(v);
  return n > 0 ? n : 0;
}

}  // namespace

Result<Launched> create_container(const Globals& g, const CreateOptions& o, LaunchMode mode) {
  OCL_CHECK(validate_id(o.id));
  std::string bundle = abs_path(o.bundle);
  auto config_text = fs::read_file(fs::join(bundle, "config.json"));
  if (!config_text) return std::move(config_text).error().wrap("load bundle \"" + bundle + "\"");
  auto cfg_r = spec::parse_config(*config_text);
  if (!cfg_r) return std::move(cfg_r).error().wrap("config.json");
  spec::Config cfg = std::move(*cfg_r);
  if (!cfg.process) return Error::make("config.json: process: missing required field");
  if (!cfg.linux) cfg.linux.emplace();
  const spec::Process& proc = *cfg.process;

  if (proc.terminal && o.console_socket.empty() && mode == LaunchMode::detached)
    return Error::make("cannot allocate tty if ocelot will detach without setting console socket");
  if (!proc.terminal && !o.console_socket.empty())
    return Error::make("cannot use console socket if ocelot will not detach or allocate tty");

  std::string rootfs = cfg.root->path[0] == '/' ? cfg.root->path : fs::join(bundle, cfg.root->path);
  struct stat st;
  if (::stat(rootfs.c_str(), &st) != 0) return Error::last("rootfs \"" + rootfs + "\"");
  if (!S_ISDIR(st.st_mode)) return Error::sys(ENOTDIR, "rootfs \"" + rootfs + "\"");
  rootfs = abs_path(rootfs);

  NsSetup nss = OCL_TRY(plan_namespaces(cfg));
  std::optional<SeccompFilter> filter;
  if (cfg.linux->seccomp) {
    filter.emplace(OCL_TRY(SeccompFilter::build(*cfg.linux->seccomp, seccomp_cache_dir())));
    for (const auto& s : filter->skipped) log::debug("seccomp: syscall \"" + s + "\" unknown to libseccomp, skipped");
  }

  StateStore store(g.root);
  UniqueFd lock = OCL_TRY(store.create_dir(o.id));
  CreateCleanup cleanup;
  cleanup.store = &store;
  cleanup.id = o.id;
  OCL_CHECK(fs::write_file(store.dir(o.id) + "/config.json", *config_text, 0600));

  // Cgroup: created and limited before the init runs any workload code.
  auto layout = OCL_TRY(cgroups::detect_layout());
  auto own_text = fs::read_file("/proc/self/cgroup");
  auto own = cgroups::parse_proc_cgroup(own_text ? *own_text : "");
  auto paths = OCL_TRY(cgroups::resolve_paths(layout, cfg.linux->cgroups_path, o.id, own));
  cleanup.cg.emplace(layout, paths);
  cgroups::Manager& cg = *cleanup.cg;
  OCL_CHECK_CTX(cg.create(), "create cgroup");
  if (cfg.linux->resources) {
    std::vector<spec::DeviceCgroup> dev_allow;
    for (const auto& d : cfg.linux->devices) {
      if (d.type == "p") continue;
      spec::DeviceCgroup rule;
      rule.allow = true;
      rule.type = d.type == "u" ? "c" : d.type;
      rule.major = d.major;
      rule.minor = d.minor;
      rule.access = "rwm";
      dev_allow.push_back(rule);
    }
    OCL_CHECK_CTX(cg.apply(*cfg.linux->resources, dev_allow), "apply cgroup resources");
  }

  std::string fifo = store.fifo(o.id);
  if (::mkfifo(fifo.c_str(), 0600) != 0) return Error::last("create \"" + fifo + "\"");
  // O_RDWR never blocks on a fifo; the init keeps this fd and blocks in read() until start.
  UniqueFd fifo_fd(::open(fifo.c_str(), O_RDWR | O_CLOEXEC));
  if (!fifo_fd.valid()) return Error::last("open \"" + fifo + "\"");

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

  UniqueFd trampoline = OCL_TRY(make_exec_trampoline());

  spec::State hook_state;
  hook_state.id = o.id;
  hook_state.bundle = bundle;
  hook_state.annotations = cfg.annotations;

  InitArgs a;
  a.config = &cfg;
  a.id = o.id;
  a.bundle = bundle;
  a.sync_fd = child_sock.get();
  a.parent_sync_fd = parent_sock.get();
  a.lock_fd = lock.get();
  a.fifo_fd = fifo_fd.get();
  a.console_fd = console.get();
  a.listen_fds = count_listen_fds();
  a.trampoline_fd = trampoline.get();
  a.preserve_fds = a.listen_fds + o.preserve_fds;
  a.new_userns = nss.new_userns;
  a.no_new_keyring = o.no_new_keyring;
  a.unshare_flags = nss.unshare_flags;
  a.join = nss.join;
  a.sync_hooks = !cfg.hooks.prestart.empty() || !cfg.hooks.create_runtime.empty() || !cfg.hooks.create_container.empty();
  a.rootfs.config = &cfg;
  a.rootfs.bundle = bundle;
  a.rootfs.rootfs = rootfs;
  a.rootfs.no_pivot = o.no_pivot;
  a.rootfs.new_userns = nss.new_userns || (!nss.join.empty() && nss.join[0].second == CLONE_NEWUSER);
  a.rootfs.cgroupns = nss.cgroupns;
  a.rootfs.cgroup_mounts = cgroup_mounts(layout, paths);
  a.seccomp = filter ? &*filter : nullptr;

  // sync 1: clone the init straight into its namespaces.
  OCL_CHECK(enter_for_child(nss, *cfg.linux));
  long pid = ::syscall(SYS_clone, static_cast<unsigned long>(nss.clone_flags) | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) init_process_main(a);
  int clone_err = errno;
  leave_for_child(nss);
  if (pid < 0) return Error::sys(clone_err, "clone container init");
  cleanup.child = static_cast<pid_t>(pid);
  child_sock.reset();
  fifo_fd.reset();  // the init holds its copy; ours would keep the fifo "open" after we exit
  console.reset();

  // sync 2: id maps and OOM score first, then let the init go; it mounts while we move it into
  // its cgroups (a cgroup v1 migration waits for an RCU grace period: milliseconds).
  if (proc.oom_score_adj)
    OCL_CHECK_CTX(fs::write_existing("/proc/" + std::to_string(pid) + "/oom_score_adj", std::to_string(*proc.oom_score_adj)),
                  "set oom_score_adj");
  if (nss.new_userns) OCL_CHECK(write_id_maps(static_cast<pid_t>(pid), *cfg.linux));
  hook_state.pid = static_cast<pid_t>(pid);
  hook_state.status = "running";
  OCL_CHECK(send_msg(parent_sock.get(), Msg::go, 0, spec::state_to_hook_json(hook_state)));
  // sync 2b: in every cgroup now.
  OCL_CHECK(cg.add_process(static_cast<pid_t>(pid)));
  OCL_CHECK(send_msg(parent_sock.get(), Msg::cgroup_joined));

  for (;;) {
    auto m = recv_msg(parent_sock.get());
    if (!m) {
      if (m.error().msg == "eof") return Error::make("container init exited before it was ready");
      return std::move(m).error();
    }
    if (m->type == Msg::error) return Error{m->err, m->payload};
    if (m->type == Msg::mounts_ready) {
      // sync 3: prestart (deprecated) and createRuntime hooks, in the runtime's namespaces.
      hook_state.status = "creating";
      std::string sj = spec::state_to_hook_json(hook_state);
      OCL_CHECK(run_hooks(cfg.hooks.prestart, sj, "prestart"));
      OCL_CHECK(run_hooks(cfg.hooks.create_runtime, sj, "createRuntime"));
      OCL_CHECK(send_msg(parent_sock.get(), Msg::hooks_done, 0, sj));
      continue;
    }
    if (m->type == Msg::seccomp_fd) {
      // runtime-spec "seccomp notify": the listener gets the fd and the container process state.
      UniqueFd nfd = OCL_TRY(recv_fd(parent_sock.get()));
      const auto& sc = *cfg.linux->seccomp;
      nlohmann::ordered_json st = nlohmann::json::parse(spec::state_to_hook_json(hook_state));
      st["status"] = "creating";
      nlohmann::ordered_json msg = {{"ociVersion", spec::kOciVersion}, {"fds", {"seccompFd"}}, {"pid", pid},
                                    {"metadata", sc.listener_metadata}, {"state", st}};
      UniqueFd l = OCL_TRY(connect_console_socket(sc.listener_path));
      OCL_CHECK_CTX(send_fd(l.get(), nfd.get(), msg.dump()), "send seccomp fd to \"" + sc.listener_path + "\"");
      continue;
    }
    if (m->type == Msg::ready) break;
  }

  // sync 4: the init is blocked on exec.fifo. Record it.
  Stored s;
  s.id = o.id;
  s.pid = static_cast<pid_t>(pid);
  auto start = process_start_time(s.pid);
  if (!start) return std::move(start).error().wrap("read start time of the init");
  s.pid_start = *start;
  s.bundle = bundle;
  s.rootfs = rootfs;
  s.created = spec::now_rfc3339_nano();
  s.owner = owner_name();
  s.annotations = cfg.annotations;
  s.cgroup_paths = paths;
  OCL_CHECK(store.save(s));
  if (!o.pid_file.empty())
    OCL_CHECK_CTX(fs::write_file_atomic(abs_path(fs::dirname(o.pid_file)) + "/" + fs::basename(o.pid_file), std::to_string(pid)),
                  "write pid file");

  Launched out;
  out.pid = static_cast<pid_t>(pid);
  if (console_peer.valid()) out.console_master = OCL_TRY(recv_fd(console_peer.get()));
  cleanup.armed = false;
  return out;
}

}  // namespace ocelot::runtime
