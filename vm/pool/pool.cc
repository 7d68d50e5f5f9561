#include "vm/pool/pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "base/clock.h"
#include "base/fd_passing.h"
#include "base/fs.h"
#include "base/log.h"
#include "vm/transport/channel.h"
#include "vm/transport/protocol.h"
#include "vm/vmm/image.h"
#include "vm/vmm/jail.h"
#include "vm/vmm/process.h"
#include "vm/vmm/qmp.h"

namespace ocelot::vm {

namespace {

constexpr const char* kKeeperSocket = "keeper.sock";
constexpr const char* kClaimedMark = "claimed";  // in a spare's directory: it is a container's
constexpr const char* kTemplateRecord = "template";
constexpr const char* kVmmRecord = "vmm";  // the spare's VMM's pid  // the template directory the spare restored from
constexpr const char* kFailureRecord = "last-failure";  // in the pool: why the last spare did not get ready
constexpr int kClaimReplyMs = 5000;
constexpr int kSpareDelayMs = 300;  // before a new spare starts its VMM

int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// "<template>-<keeper pid>".
bool parse_spare_name(const std::string& n, std::string* template_name, pid_t* keeper) {
  auto dash = n.rfind('-');
  if (dash == std::string::npos || dash == 0) return false;
  char* end = nullptr;
  long pid = std::strtol(n.c_str() + dash + 1, &end, 10);
  if (*end || pid <= 0) return false;
  *template_name = n.substr(0, dash);
  *keeper = static_cast<pid_t>(pid);
  return true;
}

// Is pid still the spare's keeper or VMM? Both work in the spare's directory (the VMM in its
// jail, where the directory is bound at the same path): a pid reused since does not.
bool works_in(pid_t pid, const std::string& dir) {
  struct stat cwd, d;
  return pid > 0 && ::stat(("/proc/" + std::to_string(pid) + "/cwd").c_str(), &cwd) == 0 &&
         ::stat(dir.c_str(), &d) == 0 && cwd.st_dev == d.st_dev && cwd.st_ino == d.st_ino;
}

// sig, then (if it is still there after a while) SIGKILL.
void kill_and_wait(pid_t pid, const std::string& dir, int sig = SIGKILL) {
  if (!works_in(pid, dir)) return;
  UniqueFd pfd(open_pidfd(pid));
  if (!pfd.valid() || ::syscall(SYS_pidfd_send_signal, pfd.get(), sig, nullptr, 0) != 0) return;
  struct pollfd p = {pfd.get(), POLLIN, 0};
  if (::poll(&p, 1, 2000) == 0 && sig != SIGKILL) {
    (void)::syscall(SYS_pidfd_send_signal, pfd.get(), SIGKILL, nullptr, 0);
    (void)::poll(&p, 1, 5000);
  }
}

// The keeper's VMM, for its SIGTERM handler: a keeper stopped while it warms takes its VMM along
// (QEMU's drop to its own uid cleared the parent-death signal it was started with).
volatile pid_t g_keepers_vmm = 0;

void on_keeper_term(int) {
  if (g_keepers_vmm > 0) ::kill(g_keepers_vmm, SIGKILL);
  ::_exit(1);
}

Result<UniqueFd> connect_seqpacket(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::last("socket");
  // Through an fd of the directory: /proc/self/fd/N/<name> is short whatever the root's length.
  UniqueFd dfd(::open(fs::dirname(path).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) return Error::last("open " + quote(fs::dirname(path)));
  std::string p = "/proc/self/fd/" + std::to_string(dfd.get()) + "/" + fs::basename(path);
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, p.c_str(), p.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return Error::last("connect to " + quote(path));
  return s;
}

// One message, waited for at most timeout_ms.
Result<Received> receive_within(int sock, int timeout_ms, std::string_view what) {
  struct pollfd p = {sock, POLLIN, 0};
  int n;
  do n = ::poll(&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  if (n == 0) return Error{ETIMEDOUT, std::string(what) + ": timed out"};
  if (n < 0) return Error::last(what);
  return receive_with_fd(sock, what);
}

// Kills a keeper (its VMM dies with it) and removes what it left; never one whose spare a
// container has taken.
void stop_keeper(pid_t pid, const std::string& dir) {
  if (fs::exists(dir + "/" + kClaimedMark)) return;
  // The VMM too: QEMU's drop to its own uid cleared the parent-death signal it was started with.
  kill_and_wait(pid, dir, SIGTERM);
  auto vmm = fs::read_file(dir + "/" + kVmmRecord);
  if (vmm) kill_and_wait(static_cast<pid_t>(std::strtol(vmm->c_str(), nullptr, 10)), dir);
  (void)fs::remove_tree(dir);
}

// -- the keeper ----------------------------------------------------------------------------------

// One spare, as its keeper holds it.
struct Keeper {
  std::string pool, dir;
  VmPlan plan;  // the spare's: every share slot the empty directory, each on a socket of its own
  Template t;
  std::string empty_dir, warm_rootfs;
  PoolSettings s;
  VmmProcess vmm;
  UniqueFd vmm_pidfd, out_r, err_r, ctl, listener;
  std::vector<UniqueFd> share_ends;  // the helpers' ends of the VMM's 9p sockets
  std::vector<pid_t> placeholders;   // helpers on the empty directory until the hand-off
};

// The VMM, restoring from the template: its output on our pipes, each share slot on a socket
// pair whose other end a placeholder helper serves (QEMU asks its helper about the share's root
// as it starts).
Status start_spare_vmm(Keeper& k) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return Error::last("pipes for the spare's output");
  k.out_r.reset(out[0]);
  k.err_r.reset(err[0]);
  UniqueFd out_w(out[1]), err_w(err[1]);
  UniqueFd log(::open((k.dir + "/helpers.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) return Error::last("create the helpers' log");
  std::vector<UniqueFd> qemu_ends;
  for (size_t i = 0; i < k.plan.shares.size(); ++i) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return Error::last("9p socket pair");
    qemu_ends.emplace_back(sv[0]);
    k.share_ends.emplace_back(sv[1]);
    // The last slot serves the warm-up's rootfs (read-only) until the hand-off.
    bool warm = i + 1 == k.plan.shares.size();
    auto h =
        OCL_TRY(spawn_share_helper(k.plan.share_helper, warm ? k.warm_rootfs : k.empty_dir, warm, sv[1], log.get()));
    k.placeholders.push_back(h.pid);
    OCL_CHECK(release_helper(h));
  }
  UniqueFd state(::open(k.t.state().c_str(), O_RDONLY | O_CLOEXEC));
  if (!state.valid()) return Error::last("open the template's state");
  VmmSpawn how;
  how.argv = qemu_argv(k.plan);
  how.env = vmm_environment(environ);
  how.dir = k.dir;
  how.log_path = k.dir + "/vmm.log";
  how.fds = {{out_w.get(), 3}, {err_w.get(), 4}, {state.get(), 5}};
  for (size_t i = 0; i < qemu_ends.size(); ++i)
    how.fds.emplace_back(qemu_ends[i].get(), kShareFd + static_cast<int>(i));
  how.die_with_parent = true;  // a keeper that dies takes its spare along
  how.jail = plan_jail(k.plan, k.dir);
  how.jail->shares.clear();  // served by our helpers, on the sockets passed in
  k.vmm = OCL_TRY(VmmProcess::spawn(how));
  g_keepers_vmm = k.vmm.pid();
  k.vmm_pidfd.reset(open_pidfd(k.vmm.pid()));
  if (!k.vmm_pidfd.valid()) return Error::last("pidfd of the spare's VMM");
  return fs::write_file(k.dir + "/" + kVmmRecord, std::to_string(k.vmm.pid()), 0600);
}

// Restores the guest and has its agent run the warm-up container; keeps the control connection
// (handed to the container's create: the agent never sees its host go).
Status warm_spare(Keeper& k) {
  int long_ms = k.plan.kvm ? 30000 : 240000;
  Qmp q = OCL_TRY(Qmp::connect(k.dir, k.plan.qmp_socket, k.vmm.pid(), 30000));
  OCL_TRY(q.execute("migrate-set-capabilities", R"({"capabilities":[{"capability":"x-ignore-shared","state":true}]})"));
  OCL_TRY(q.execute("migrate-incoming", R"({"uri":"fd:5"})"));
  k.ctl = OCL_TRY(k.vmm.connect(kCtlSocket, 30000, "waiting for the spare's control socket"));
  // The last share slot is mounted and read in the warm-up (the 9p client's paths): its tag.
  // And how long it waits for a plan before it powers off by itself: a little past the keeper's
  // idle time, so that a spare whose keeper was killed does not outlive it by much.
  OCL_CHECK(
      send_frame(k.ctl.get(), FrameType::warm,
                 (k.plan.shares.empty() ? "" : k.plan.shares.back().tag) + "\n" + std::to_string(k.s.idle_s + 30)));
  FrameChannel ch(k.ctl.get());
  auto f = ch.read(long_ms, k.vmm.pid());
  if (!f) return std::move(f).error().wrap("the spare's warm-up");
  if (f->type != FrameType::warmed)
    return Error::make(std::string("the spare's guest sent \"") + frame_type_name(f->type) + "\": " + f->payload);
  if (!f->payload.empty()) return Error::make("the spare's warm-up: " + f->payload);
  return ok();
}

Result<UniqueFd> listen_for_claims(const std::string& dir) {
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::last("socket");
  // Relative: the keeper works in its directory (the state root may be long).
  std::string tmp = std::string(kKeeperSocket) + ".new";
  ::unlink(tmp.c_str());
  struct sockaddr_un t = {};
  t.sun_family = AF_UNIX;
  std::memcpy(t.sun_path, tmp.c_str(), tmp.size());
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&t), sizeof t) != 0 || ::listen(s.get(), 4) != 0)
    return Error::last("listen on " + quote(dir + "/" + kKeeperSocket));
  // Ready the moment the socket has its name: it never exists half made.
  if (::rename(tmp.c_str(), kKeeperSocket) != 0) return Error::last("name the keeper's socket");
  return s;
}

void kill_placeholders(Keeper& k) {
  for (pid_t p : k.placeholders) {
    ::kill(p, SIGKILL);
    while (::waitpid(p, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  k.placeholders.clear();
}

// The container's output, from the VMM's pipes to the create's stdout and stderr, until the VMM
// has exited and the pipes are empty. A foreground create (run) that goes takes the VMM along.
void relay_output(Keeper& k, UniqueFd out, UniqueFd err, UniqueFd foreground) {
  int from[2] = {k.out_r.get(), k.err_r.get()};
  int to[2] = {out.get(), err.get()};
  for (;;) {
    struct pollfd p[3] = {{from[0], POLLIN, 0}, {from[1], POLLIN, 0}, {foreground.get(), POLLIN, 0}};
    if (from[0] < 0 && from[1] < 0) break;
    if (::poll(p, 3, -1) < 0 && errno != EINTR) break;
    if (p[2].revents & POLLIN) {
      ::kill(k.vmm.pid(), SIGKILL);
      foreground.reset();
    }
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(from[i], buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        from[i] = -1;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to[i], buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;  // a reader that went: the rest is dropped, as the guest's port would
        off += w;
      }
    }
  }
  while (!k.vmm.exited()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// A claim: the create's stdout and stderr come in; the spare's VMM, control connection and 9p
// sockets go out. False when the claim was not completed (the spare stays in the pool).
bool hand_over_spare(Keeper& k, int conn, Received first) {
  pid_t fg = static_cast<pid_t>(std::strtol(first.payload.c_str() + 6, nullptr, 10));
  auto second = receive_within(conn, kClaimReplyMs, "the claim's stderr");
  if (!second || second->eof || !first.fd.valid() || !second->fd.valid()) return false;
  UniqueFd foreground(fg > 0 ? open_pidfd(fg) : -1);
  if (!fs::write_file(k.dir + "/" + kClaimedMark, "", 0600)) return false;
  std::string head = "spare " + std::to_string(k.vmm.pid()) + " " + std::to_string(::getpid()) + " " +
                     std::to_string(k.share_ends.size());
  bool sent = send_with_fd(conn, head, -1, "answer the claim") && send_with_fd(conn, "ctl", k.ctl.get(), "pass ctl");
  for (auto& e : k.share_ends) sent = sent && send_with_fd(conn, "share", e.get(), "pass a 9p socket");
  // Its answer: the claim went through (a create that died half way leaves the spare to die).
  auto done = receive_within(conn, kClaimReplyMs, "the claim's answer");
  if (!sent || !done || done->eof || done->payload != "taken") {
    // Half handed over (the create went before it took it): never offered again, and nobody's.
    kill_placeholders(k);
    k.vmm.kill();
    (void)fs::remove_tree(k.dir);
    ::_exit(1);
  }
  ::unlink(kKeeperSocket);
  k.listener.reset();  // a stop that comes now finds no keeper to ask
  kill_placeholders(k);
  k.share_ends.clear();
  k.ctl.reset();
  relay_output(k, std::move(first.fd), std::move(second->fd), std::move(foreground));
  return true;
}

// Ready: waits for a claim, a stop, the idle time, or the VMM's exit.
void serve_claims(Keeper& k) {
  int listener = k.listener.get();
  int64_t deadline = monotonic_ms() + static_cast<int64_t>(k.s.idle_s) * 1000;
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) return;
    struct pollfd p[2] = {{listener, POLLIN, 0}, {k.vmm_pidfd.get(), POLLIN, 0}};
    int n = ::poll(p, 2, static_cast<int>(std::min<int64_t>(left, 60000)));
    if (n < 0 && errno != EINTR) return;
    if (p[1].revents) return;  // the VMM went
    if (!(p[0].revents & POLLIN)) continue;
    UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    auto first = receive_within(conn.get(), kClaimReplyMs, "a claim");
    if (!first || first->eof) continue;
    if (first->payload == "stop") return;
    if (first->payload.rfind("claim ", 0) != 0) continue;
    if (hand_over_spare(k, conn.get(), std::move(*first))) ::_exit(0);
  }
}

[[noreturn]] void keeper_main(Keeper& k) {
  auto fail = [&](const std::string& why) {
    (void)fs::write_file(k.pool + "/" + kFailureRecord, why + "\n", 0600);
    kill_placeholders(k);
    k.vmm.kill();
    (void)fs::remove_tree(k.dir);
    ::_exit(1);
  };
  if (!fs::write_file(k.dir + "/" + kTemplateRecord, k.t.dir, 0600)) fail("record the spare's template");
  // The container whose create started this spare is starting now: a fresh VMM's exec and restore
  // take memory bandwidth and the host kernel's time even at idle priority (its start and exit
  // measured 20 ms slower on 2 cores). Listed as warming meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(kSpareDelayMs));
  if (auto st = start_spare_vmm(k); !st) fail(st.error().msg);
  if (auto st = warm_spare(k); !st) fail(k.vmm.exited() ? k.vmm.failure(st.error().msg).msg : st.error().msg);
  auto listener = listen_for_claims(k.dir);
  if (!listener) fail(listener.error().msg);
  k.listener = std::move(*listener);
  serve_claims(k);
  ::unlink(kKeeperSocket);
  kill_placeholders(k);
  k.vmm.kill();
  (void)fs::remove_tree(k.dir);
  ::_exit(0);
}

// A detached keeper for a new spare: its own session, nothing of the create's open (its lock,
// its sockets), stdio on /dev/null, default signals.
void start_keeper(const std::string& pool, const VmPlan& plan, const Template& t, const std::string& empty_dir,
                  const std::string& warm_rootfs, const PoolSettings& s) {
  // The create returns (and its caller may run `vm-pool stop`) only once the new keeper is listed:
  // the pipe's last write end closes when the keeper has made its directory, or has failed to.
  int listed[2];
  if (::pipe2(listed, O_CLOEXEC) != 0) return;
  pid_t first = ::fork();
  if (first < 0) {
    ::close(listed[0]);
    ::close(listed[1]);
    return;
  }
  if (first == 0) {
    ::setsid();
    pid_t keeper = ::fork();
    if (keeper != 0) ::_exit(keeper < 0 ? 1 : 0);
    std::string dir = pool + "/" + fs::basename(t.dir) + "-" + std::to_string(::getpid());
    bool made = ::mkdir(dir.c_str(), 0711) == 0 && ::chdir(dir.c_str()) == 0;
    ::close_range(3, ~0U, 0);  // closes the pipe: listed (or not) from here on
    if (!made) ::_exit(1);
    int nul = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(nul, fd);
    if (nul > 2) ::close(nul);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    (void)::signal(SIGPIPE, SIG_IGN);
    (void)::signal(SIGTERM, on_keeper_term);
    log::set_sink([](log::Level, std::string_view) {});
    try {
      Keeper k;
      k.pool = pool;
      k.plan = plan;
      k.t = t;
      k.empty_dir = empty_dir;
      k.warm_rootfs = warm_rootfs;
      k.s = s;
      // Listed (as warming) before the keeper goes to idle priority, where a busy host may not
      // run it for a while: `vm-pool wait`, `vm-pool stop` and the next refill see it.
      k.dir = dir;
      // Warming runs only on a core nothing else wants (SCHED_IDLE, and nice 19 where that is
      // refused): it never takes a core from a container's start. The create that takes the
      // spare puts its VMM and keeper back to normal.
      struct sched_param none_prio = {};
      if (::sched_setscheduler(0, SCHED_IDLE, &none_prio) != 0) (void)::setpriority(PRIO_PROCESS, 0, 19);
      keeper_main(k);
    } catch (...) {  // nothing here throws on purpose; an allocation failure ends the keeper
    }
    ::_exit(1);
  }
  ::close(listed[1]);
  char byte;
  while (::read(listed[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::close(listed[0]);
  while (::waitpid(first, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// The warm-up container's rootfs (vm/agent: warm_up): the agent's static binary as /init and
// the mountpoints a read-only rootfs must have. Made once per agent binary, in the VM cache.
Result<std::string> warm_up_rootfs(const std::string& agent) {
  std::string dir = std::string(kVmCache) + "/warm-rootfs";
  struct stat st;
  if (::stat(agent.c_str(), &st) != 0) return Error::last("the guest agent " + quote(agent));
  std::string identity = agent + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                         std::to_string(st.st_mtim.tv_nsec);
  if (auto known = fs::read_file(dir + ".source"); known && *known == identity && fs::exists(dir + "/init")) return dir;
  auto bytes = OCL_TRY(fs::read_file(agent));
  std::string tmp = dir + ".new." + std::to_string(::getpid());
  (void)fs::remove_tree(tmp);
  for (const char* d : {"", "/proc", "/dev", "/sys"}) OCL_CHECK(fs::mkdir_p(tmp + d, 0755));
  OCL_CHECK(fs::write_file(tmp + "/init", bytes, 0755));
  (void)fs::remove_tree(dir);
  if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    (void)fs::remove_tree(tmp);
    if (!fs::exists(dir + "/init")) return Error::last("make " + quote(dir));
  }
  OCL_CHECK(fs::write_file_atomic(dir + ".source", identity, 0644));
  return dir;
}

}  // namespace

std::string pool_dir(const std::string& state_root) { return state_root + "/" + kPoolDirName; }

std::string pool_unfit(const VmPlan& p) {
  if (!unprivileged_vmm(p)) return "its VMM serves the shares itself (no virtfs-proxy-helper)";
  if (!p.tty_path.empty()) return "a terminal (the VMM opens the host pty as it starts)";
  if (!p.nic_macs.empty()) return "NICs (the VMM takes the taps as it starts)";
  if (!p.console_log.empty()) return "a console log (OCELOT_VM_CONSOLE)";
  return "";
}

Result<std::optional<ClaimedSpare>> claim_spare(const std::string& pool, const std::string& template_name, int out,
                                                int err, pid_t foreground) {
  DIR* d = ::opendir(pool.c_str());
  if (!d) return std::optional<ClaimedSpare>();
  std::vector<std::string> candidates;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name, tn;
    pid_t keeper;
    if (!parse_spare_name(name, &tn, &keeper) || tn != template_name) continue;
    std::string dir = pool + "/" + name;
    if (fs::exists(dir + "/" + kKeeperSocket) && !fs::exists(dir + "/" + kClaimedMark)) candidates.push_back(dir);
  }
  ::closedir(d);
  for (const auto& dir : candidates) {
    auto conn = connect_seqpacket(dir + "/" + kKeeperSocket);
    if (!conn) continue;  // it just went (idle, stopped, or claimed by another create)
    int c = conn->get();
    if (!send_with_fd(c, "claim " + std::to_string(foreground), out, "claim a spare") ||
        !send_with_fd(c, "err", err, "claim a spare"))
      continue;
    auto head = receive_within(c, kClaimReplyMs, "the spare's answer");
    if (!head || head->eof || head->payload.rfind("spare ", 0) != 0) continue;
    ClaimedSpare s;
    s.dir = dir;
    unsigned long shares = 0;
    if (std::sscanf(head->payload.c_str(), "spare %d %d %lu", &s.vmm, &s.keeper, &shares) != 3 || shares > 64) continue;
    auto ctl = receive_within(c, kClaimReplyMs, "the spare's control connection");
    if (!ctl || !ctl->fd.valid()) continue;
    s.ctl = std::move(ctl->fd);
    bool whole = true;
    for (unsigned long i = 0; i < shares && whole; ++i) {
      auto sock = receive_within(c, kClaimReplyMs, "a spare's 9p socket");
      whole = sock && sock->fd.valid();
      if (whole) s.share_socks.push_back(std::move(sock->fd));
    }
    s.vmm_pidfd.reset(open_pidfd(s.vmm));
    s.keeper_pidfd.reset(open_pidfd(s.keeper));
    if (!whole || !s.vmm_pidfd.valid() || !s.keeper_pidfd.valid() || !send_with_fd(c, "taken", -1, "take the spare")) {
      if (s.vmm_pidfd.valid()) (void)::syscall(SYS_pidfd_send_signal, s.vmm_pidfd.get(), SIGKILL, nullptr, 0);
      continue;
    }
    return std::optional<ClaimedSpare>(std::move(s));
  }
  return std::optional<ClaimedSpare>();
}

void refill_pool(const std::string& pool, const VmPlan& restore_plan, const Template& t, const std::string& empty_dir,
                 const std::string& agent, const PoolSettings& s) {
  if (s.size == 0 || !fs::mkdir_p(pool, 0700)) return;
  std::string want = fs::basename(t.dir);
  unsigned have = 0;
  for (const auto& sp : list_spares(pool)) {
    if (sp.state == "in use") continue;
    if (sp.state == "gone") {  // its keeper died: its VMM may not have (stop_keeper ends it)
      stop_keeper(sp.keeper, sp.dir);
      continue;
    }
    auto tdir = fs::read_file(sp.dir + "/" + kTemplateRecord);
    if (tdir && !fs::exists(*tdir + "/key")) {  // its template was rebuilt or removed: stale
      stop_keeper(sp.keeper, sp.dir);
      continue;
    }
    if (sp.template_name == want) ++have;
  }
  VmPlan plan = restore_plan;
  for (auto& sh : plan.shares) {
    sh.host_path = empty_dir;
    sh.readonly = false;  // the container's helper makes a read-only share read-only
  }
  plan.served_shares = plan.shares.size();
  plan.stdout_path = "/proc/self/fd/3";
  plan.stderr_path = "/proc/self/fd/4";
  if (have >= s.size) return;
  auto warm = warm_up_rootfs(agent);
  if (!warm) {
    (void)fs::write_file(pool + "/" + kFailureRecord, warm.error().msg + "\n", 0600);
    return;
  }
  for (; have < s.size; ++have) start_keeper(pool, plan, t, empty_dir, *warm, s);
}

std::vector<SpareInfo> list_spares(const std::string& pool) {
  std::vector<SpareInfo> out;
  DIR* d = ::opendir(pool.c_str());
  if (!d) return out;
  time_t now = ::time(nullptr);
  while (auto* e = ::readdir(d)) {
    SpareInfo sp;
    std::string name = e->d_name;
    if (!parse_spare_name(name, &sp.template_name, &sp.keeper)) continue;
    sp.dir = pool + "/" + name;
    struct stat st;
    if (::stat(sp.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    sp.age_s = now - st.st_mtime;
    if (fs::exists(sp.dir + "/" + kClaimedMark))
      sp.state = "in use";
    else if (!works_in(sp.keeper, sp.dir))
      sp.state = "gone";
    else
      sp.state = fs::exists(sp.dir + "/" + kKeeperSocket) ? "ready" : "warming";
    out.push_back(sp);
  }
  ::closedir(d);
  return out;
}

Result<int> stop_spares(const std::string& pool) {
  int stopped = 0;
  for (const auto& sp : list_spares(pool)) {
    if (sp.state == "in use") continue;
    if (sp.state == "ready") {
      // Through the keeper, which takes claims one at a time: never one that is being handed out.
      if (auto c = connect_seqpacket(sp.dir + "/" + kKeeperSocket)) {
        if (send_with_fd(c->get(), "stop", -1, "stop a spare")) {
          struct pollfd p = {c->get(), POLLIN, 0};
          (void)::poll(&p, 1, 5000);  // the keeper closes the connection as it exits
        }
      }
    }
    if (sp.state != "gone") ++stopped;
    stop_keeper(sp.keeper, sp.dir);
  }
  ::unlink((pool + "/" + kFailureRecord).c_str());
  ::rmdir(pool.c_str());  // when nothing is left in it
  return stopped;
}

Status wait_for_spares(const std::string& pool, int timeout_ms) {
  for (int64_t end = monotonic_ms() + timeout_ms;;) {
    bool warming = false;
    for (const auto& sp : list_spares(pool)) warming = warming || sp.state == "warming";
    if (!warming) return ok();
    if (monotonic_ms() > end)
      return Error{ETIMEDOUT, "spares still warming after " + std::to_string(timeout_ms / 1000) + " s"};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace ocelot::vm
