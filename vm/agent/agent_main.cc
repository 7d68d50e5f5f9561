// ocelot-agent: PID 1 of the guest in VM-isolated mode (a static binary, the initramfs's /init).
// It loads the virtio and 9p modules the initramfs carries, moves to a tmpfs root, mounts what a
// guest needs and cgroup2 (the guest is a pure cgroup v2 system), receives the guest plan from the
// host, mounts the host's shares over virtio-9p, and runs the container with ocelot's own runtime
// code: a container inside a VM. It answers the host on the ports of vm/protocol.h and powers the
// guest off when the container has exited (or could not be created).
#include <dirent.h>
#include <fcntl.h>
#include <linux/random.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include <unistd.h>
#include <ctime>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/console.h"
#include "runtime/container_backend.h"
#include "runtime/lifecycle.h"
#include "runtime/safe_exe.h"
#include "spec/default_spec.h"
#include "spec/parse.h"
#include "vm/agent/agent_network.h"
#include "vm/agent/agent_spares.h"
#include "vm/share/guest_config.h"
#include "vm/transport/exec_request.h"
#include "vm/transport/frame.h"
#include "vm/transport/protocol.h"

using namespace ocelot;
using vm::GuestPlan;
using vm::kGuestBase;

namespace {

int g_ctl = -1;
bool g_trace = false;  // ocelot.trace=1 (set with OCELOT_VM_CONSOLE): steps go to the kernel log

void trace(const std::string& step) {
  if (!g_trace) return;
  int fd = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string l = "ocelot-agent: " + step + "\n";
  (void)!::write(fd, l.data(), l.size());
  ::close(fd);
}

bool write_port(int fd, const std::string& data);

// With no host connected the frame is dropped after a while (the guest must still power off).
void say(vm::FrameType t, const std::string& payload = {}) {
  if (g_ctl < 0) return;
  (void)write_port(g_ctl, vm::encode_frame(t, payload));
}

[[noreturn]] void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();
}

[[noreturn]] void fail(const std::string& msg) {
  trace("error: " + msg);
  say(vm::FrameType::error, msg);
  power_off();
}

void mount_or_fail(const char* src, const char* dst, const char* type, unsigned long flags, const char* data) {
  ::mkdir(dst, 0755);
  if (::mount(src, dst, type, flags, data) != 0 && errno != EBUSY)
    fail(std::string("mount ") + type + " on \"" + dst + "\": " + errno_text(errno));
}

// The initramfs root cannot be pivot_root'ed away from (EINVAL), and the container setup needs
// pivot_root. So, as switch_root does: load what the initramfs carries, free it, move a fresh
// tmpfs over "/" and chroot into it; the container's mount namespace then pivots as on any host.
void load_modules_and_switch_root() {
  auto order = fs::read_file("/lib/modules/order");
  std::istringstream in(order ? *order : "");
  std::string name;
  while (in >> name) {
    std::string path = "/lib/modules/" + name + ".ko";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
      fail("load module " + name + ": " + errno_text(errno));
    ::close(fd);
    ::unlink(path.c_str());
  }
  ::unlink("/init");  // the running agent stays mapped
  mount_or_fail("tmpfs", "/newroot", "tmpfs", MS_NOSUID, "mode=0755");
  if (::chdir("/newroot") != 0 || ::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0 || ::chroot(".") != 0 ||
      ::chdir("/") != 0)
    fail("switch the guest root to a tmpfs: " + errno_text(errno));
}

// virtio-serial ports by name: /sys/class/virtio-ports/vportNpM/name -> /dev/vportNpM.
std::map<std::string, std::string> find_ports() {
  std::map<std::string, std::string> out;
  if (DIR* d = ::opendir("/sys/class/virtio-ports")) {
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      auto n = fs::read_file(std::string("/sys/class/virtio-ports/") + e->d_name + "/name");
      if (!n) continue;
      std::string name = *n;
      while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
      out[name] = std::string("/dev/") + e->d_name;
    }
    ::closedir(d);
  }
  return out;
}

std::string cmdline_value(const std::string& key) {
  auto c = fs::read_file("/proc/cmdline");
  std::istringstream in(c ? *c : "");
  std::string w;
  while (in >> w)
    if (w.rfind(key + "=", 0) == 0) return w.substr(key.size() + 1);
  return "";
}

// A host port: frames in, with the host's disconnections (POLLHUP until it connects again).
struct Port {
  int fd = -1;
  vm::FrameReader reader;
  bool host_gone = false;
  // When reads began to say "no host" (0 while none said otherwise since). The guest hears of a
  // host's connection on virtio-serial's control queue, apart from the data: a read can say "no
  // host" for a moment after the host's first bytes arrived. Only a lasting one means it went.
  int64_t gone_since_ms = 0;
  // Reads what is there; false when the host is not connected.
  bool pull() {
    char c[65536];
    ssize_t r = ::read(fd, c, sizeof c);
    if (r <= 0) {
      host_gone = r == 0 || errno != EAGAIN;
      if (!host_gone) gone_since_ms = 0;
      if (host_gone && !gone_since_ms) gone_since_ms = monotonic_ms();
      return false;
    }
    gone_since_ms = 0;
    reader.feed(std::string_view(c, static_cast<size_t>(r)));
    return true;
  }
  bool gone_for(int64_t ms) const { return host_gone && gone_since_ms && monotonic_ms() - gone_since_ms >= ms; }
  // The next whole frame; a malformed one ends the guest (the host is ocelot: it never sends one).
  bool frame(vm::Frame& out) {
    auto f = reader.next();
    if (!f) fail("from the host: " + f.error().msg);
    if (!*f) return false;
    out = std::move(**f);
    return true;
  }
};

std::string warm_up(const std::string& share_tag);

// Waits for the host's plan frame. A pool's spare (vm/pool/pool.h) is asked to warm up first
// ("warm": the share tag of its warm-up rootfs, a newline, and the seconds it waits for its plan
// afterwards: then it powers off, whatever became of its keeper).
GuestPlan receive_plan(Port& ctl) {
  vm::Frame f;
  int64_t give_up_ms = -1;
  for (;;) {
    while (!ctl.frame(f)) {
      if (give_up_ms > 0 && monotonic_ms() > give_up_ms) power_off();
      struct pollfd p = {ctl.fd, POLLIN, 0};
      if (::poll(&p, 1, ctl.host_gone ? 20 : give_up_ms > 0 ? 1000 : -1) > 0 || ctl.host_gone) {
        // Short: a guest restored from a template starts here and the host connects right away.
        if (!ctl.pull() && ctl.host_gone) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    if (f.type != vm::FrameType::warm) break;
    auto nl = f.payload.find('\n');
    std::string tag = f.payload.substr(0, nl);
    long wait_s = nl == std::string::npos ? 0 : std::strtol(f.payload.c_str() + nl + 1, nullptr, 10);
    say(vm::FrameType::warmed, warm_up(tag));
    if (wait_s > 0) give_up_ms = monotonic_ms() + wait_s * 1000;
  }
  if (f.type != vm::FrameType::plan)
    fail(std::string("expected the guest plan from the host, got \"") + vm::frame_type_name(f.type) + "\"");
  auto plan = vm::decode_guest_plan(f.payload);
  if (!plan) fail(plan.error().msg);
  return std::move(*plan);
}

void mount_shares(const GuestPlan& plan) {
  for (const auto& s : plan.shares) {
    if (!fs::mkdir_p(s.guest_path, 0755)) fail("create \"" + s.guest_path + "\"");
    // msize and cache=mmap: about 10x the default's write speed (measured).
    if (::mount(s.tag.c_str(), s.guest_path.c_str(), "9p", s.readonly ? MS_RDONLY : 0,
                "trans=virtio,version=9p2000.L,msize=512000,cache=mmap") != 0)
      fail("mount the host share \"" + s.tag + "\" on \"" + s.guest_path + "\": " + errno_text(errno));
  }
  std::string bundle = std::string(kGuestBase) + "/bundle";
  if (!fs::mkdir_p(bundle, 0700) || !fs::write_file(bundle + "/config.json", plan.config_json, 0600))
    fail("write the guest's config.json");
}

// A guest restored from a VM template resumes with the template's clock and the template's random
// state: two guests from one template would otherwise share every random number they draw. The
// host's bytes are mixed into the input pool with entropy credit, then the crng is reseeded from
// it, so what the workload reads from /dev/urandom (and the boot_id, made on first read) differs
// per guest. Done on every boot: harmless after a cold one.
void take_host_state(const GuestPlan& plan) {
  if (plan.seed.size() >= 2) {
    struct {
      int entropy_count;
      int buf_size;
      unsigned char buf[256];
    } e = {};
    size_t n = std::min(plan.seed.size() / 2, sizeof e.buf);
    auto nibble = [](char c) -> int {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    for (size_t i = 0; i < n; ++i) {
      int hi = nibble(plan.seed[2 * i]), lo = nibble(plan.seed[2 * i + 1]);
      // A seed that is not hex is the host's bug, never a reason for PID 1 to die uncaught.
      if (hi < 0 || lo < 0) fail("the guest plan's random seed is not hex");
      e.buf[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    e.buf_size = static_cast<int>(n);
    e.entropy_count = static_cast<int>(n * 8);
    int fd = ::open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::ioctl(fd, RNDADDENTROPY, &e) != 0 || ::ioctl(fd, RNDRESEEDCRNG) != 0)
      fail("reseed the guest's random number generator: " + errno_text(errno));
    ::close(fd);
  }
  if (plan.host_time_ns > 0) {
    struct timespec ts = {static_cast<time_t>(plan.host_time_ns / 1000000000),
                          static_cast<long>(plan.host_time_ns % 1000000000)};
    if (::clock_settime(CLOCK_REALTIME, &ts) != 0) fail("set the guest's clock: " + errno_text(errno));
  }
}

// A pool's spare runs one container to its exit before it waits for its plan: ocelot's default
// config (every namespace, the default mounts, devices and capabilities) with the agent itself as
// the workload, on the host's warm-up tree shared over 9p (vm/pool/pool.h), as a rootfs comes. Under TCG each kernel
// and runtime path is translated the first time it runs in a VMM process; this puts that first time before the
// container's create, start and exit (docs/vm.md, "The pool"). Its network namespace is a new one: the template's spare
// namespace stays unused for the container. "" when it ran, else why not (the spare is then still usable, only colder).
std::string warm_up(const std::string& share_tag) {
  const std::string dir = "/run/ocelot-warm-up", rootfs = dir + "/rootfs";
  // What the plan's first steps do: the host's seed and clock (the guest's own here, harmless).
  GuestPlan own;
  own.host_time_ns = static_cast<int64_t>(std::time(nullptr)) * 1000000000;
  char seed[32];
  if (::getrandom(seed, sizeof seed, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof seed)) {
    static const char* hex = "0123456789abcdef";
    for (unsigned char c : seed) own.seed += std::string{hex[c >> 4], hex[c & 15]};
  }
  take_host_state(own);
  // The rootfs: the host's warm-up tree on 9p (the agent's binary and the mountpoints),
  // read-only, as a container's rootfs comes.
  auto cfg = nlohmann::json::parse(spec::default_spec_json(false, 0, 0), nullptr, false);
  if (!cfg.is_object()) return "the default config does not parse";
  cfg["process"]["args"] = {"/init", "warm-up"};
  cfg["process"]["terminal"] = false;
  cfg["root"] = {{"path", "rootfs"}, {"readonly", true}};
  if (!fs::mkdir_p(rootfs, 0755) || !fs::write_file(dir + "/config.json", cfg.dump(), 0600))
    return "make the warm-up bundle";
  if (share_tag.empty() || ::mount(share_tag.c_str(), rootfs.c_str(), "9p", MS_RDONLY,
                                   "trans=virtio,version=9p2000.L,msize=512000,cache=mmap") != 0)
    return "mount the warm-up rootfs (share " + quote(share_tag) + "): " + errno_text(errno);
  // Its output goes nowhere: the ports are the container's.
  int keep1 = ::fcntl(1, F_DUPFD_CLOEXEC, 3), keep2 = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::close(null);
  }
  runtime::Globals g;
  g.root = "/run/ocelot";
  runtime::Lifecycle life(g, runtime::make_container_backend(g));
  runtime::CreateOptions o;
  o.id = "ocelot-warm-up";
  o.bundle = dir;
  auto code = life.run(o, false, false);
  for (auto [saved, fd] : {std::pair{keep1, 1}, std::pair{keep2, 2}})
    if (saved >= 0) {
      ::dup2(saved, fd);
      ::close(saved);
    }
  // Unmounted: the container's own helper serves this slot from the hand-off on.
  ::umount2(rootfs.c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!code) return code.error().msg;
  if (*code != 0) return "the warm-up container exited " + std::to_string(*code);
  trace("warm-up container ran");
  return "";
}

// A port that says "no host" is given kHostGraceMs to say otherwise: the guest hears of a host's
// connection on virtio-serial's control queue, apart from the data, so right after a host that
// had just connected sent its request the port can still report the last host's hang-up. A reply
// dropped then leaves the caller waiting, and the VM's end closes its socket ("the guest closed
// the channel", seen once in CI on a kill right behind an update).
constexpr int64_t kHostGraceMs = 500;

// Writes all of data to a port, waiting for room (a port's queue fills when the host reads slowly).
bool write_port(int fd, const std::string& data) {
  size_t off = 0;
  int64_t no_host_since = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return false;
    struct pollfd p = {fd, POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    if (p.revents & POLLHUP) {
      int64_t now = monotonic_ms();
      if (!no_host_since) no_host_since = now;
      if (now - no_host_since >= kHostGraceMs) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

// A pipe whose two ends close themselves.
struct Pipe {
  UniqueFd read, write;
  static Result<Pipe> make() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::last("pipe");
    return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
  }
};

// One `ocelot exec` per exec port (a port serves one host connection): a child of ours runs the
// runtime's exec with its stdout/stderr on pipes that we frame onto the port.
struct Exec {
  pid_t pid = -1;
  UniqueFd out, err, fail;  // read ends; fail carries a setup error message
  UniqueFd started;         // read end: the process's pid once it runs (ExecOptions::started_fd)
  bool said_started = false;
  pid_t process = 0;      // the exec'd process (from `started`)
  bool orphaned = false;  // its host went: killed, and nothing more is written to the port
  // A terminal: the runtime sends the pty's master to console_listen (the exec's console
  // socket); its output goes out as `out` frames, `in` frames and resizes go to it.
  UniqueFd console_listen, master;
  std::string console_path;
  struct winsize size = {};  // the last resize, applied when the master arrives
  UniqueFd in;               // the write end of its stdin (non-blocking)
  std::string in_pending;    // stdin bytes from the host not yet taken by the process
  bool in_ending = false;    // the host's stdin ended: close once in_pending is written
  int code = -1;
  std::string fail_msg;
  bool active() const { return pid > 0; }
  bool drained() const {
    return code >= 0 && !out.valid() && !err.valid() && !fail.valid() && !started.valid() && !master.valid() &&
           !console_listen.valid();
  }
};

[[noreturn]] void exec_in_child(const runtime::Globals& g, runtime::ExecOptions o, const Pipe& in, const Pipe& out,
                                const Pipe& err, const Pipe& fail, const Pipe& started) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::dup2(in.read.get(), 0);
  ::close(in.write.get());  // or the process would never see its stdin end
  ::dup2(out.write.get(), 1);
  ::dup2(err.write.get(), 2);
  o.started_fd = started.write.get();
  auto r = runtime::Lifecycle(g, runtime::make_container_backend(g)).exec(o);
  if (!r) {
    (void)!::write(fail.write.get(), r.error().msg.data(), r.error().msg.size());
    ::_exit(255);
  }
  ::_exit(*r);
}

// A listening unix socket at path (an exec's console socket, in the guest's /run).
Result<UniqueFd> listen_unix(const std::string& path) {
  (void)fs::mkdir_p(fs::dirname(path), 0700);
  ::unlink(path.c_str());
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return Error::last("console socket");
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return Error::make("console socket path too long");
  std::memcpy(a.sun_path, path.c_str(), path.size());
  if (::bind(s.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof a) != 0 || ::listen(s.get(), 1) != 0)
    return Error::last("listen on " + quote(path));
  return s;
}

Result<Exec> start_exec(const std::string& json, const runtime::Globals& g, int session) {
  auto req = OCL_TRY(vm::decode_exec(json));
  runtime::ExecOptions o = req.options;
  if (!req.process_text.empty()) {
    std::string path = std::string(kGuestBase) + "/exec-process-" + std::to_string(session) + ".json";
    OCL_CHECK_CTX(fs::write_file(path, req.process_text, 0600), "write the exec process file");
    o.process_file = path;
  }
  Exec e;
  if (vm::exec_wants_terminal(o, req.process_text)) {
    e.console_path = "/run/ocelot-agent/exec-" + std::to_string(session) + ".console";
    e.console_listen = OCL_TRY(listen_unix(e.console_path));
    o.console_socket = e.console_path;
  }
  Pipe in = OCL_TRY(Pipe::make()), out = OCL_TRY(Pipe::make()), err = OCL_TRY(Pipe::make()),
       fail = OCL_TRY(Pipe::make()), started = OCL_TRY(Pipe::make());
  if (::fcntl(in.write.get(), F_SETFL, O_NONBLOCK) != 0) return Error::last("stdin pipe");
  pid_t pid = ::fork();
  if (pid < 0) return Error::last("fork");
  if (pid == 0) exec_in_child(g, o, in, out, err, fail, started);
  e.pid = pid;
  e.in = std::move(in.write);
  e.out = std::move(out.read);
  e.err = std::move(err.read);
  e.fail = std::move(fail.read);
  e.started = std::move(started.read);
  return e;
}

// Moves what a pipe has onto the port as a frame; closes it at EOF.
void pump_frame(UniqueFd& fd, vm::FrameType tag, int port_fd) {
  char buf[16384];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) {
    fd.reset();
    return;
  }
  write_port(port_fd, vm::encode_frame(tag, std::string_view(buf, static_cast<size_t>(n))));
}

// Relays what `from` has to `to`; false at EOF or on an error (EAGAIN is not one).
bool relay(int from, int to) {
  char b[16384];
  ssize_t n = ::read(from, b, sizeof b);
  if (n <= 0) return n < 0 && errno == EAGAIN;
  write_port(to, std::string(b, static_cast<size_t>(n)));
  return true;
}

int signal_number(const std::string& t) {
  int v = std::atoi(t.c_str());
  return v >= 0 && v < 65 ? v : -1;
}

// The guest's file systems, its ports and its plan, before any container exists.
struct Ports {
  Port ctl, cmd;
  std::array<Port, vm::kExecSessions> exec;
  int tty = -1, out = -1, err = -1;
};

void mount_guest_filesystems() {
  load_modules_and_switch_root();
  mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_or_fail("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_or_fail("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_or_fail("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_or_fail("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_or_fail("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
}

Ports open_ports() {
  std::map<std::string, std::string> found;
  size_t want = std::strtoul(cmdline_value("ocelot.ports").c_str(), nullptr, 10);
  if (want == 0) want = 5;
  for (int i = 0; i < 1000 && (found = find_ports()).size() < want; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!found.count(vm::kCtlPort)) {
    trace("error: no control port");
    power_off();
  }
  auto open_port = [&](const std::string& name, int flags) {
    return found.count(name) ? ::open(found[name].c_str(), flags | O_CLOEXEC) : -1;
  };
  Ports p;
  p.ctl.fd = g_ctl = open_port(vm::kCtlPort, O_RDWR | O_NONBLOCK);
  p.cmd.fd = open_port(vm::kCmdPort, O_RDWR | O_NONBLOCK);
  for (int i = 0; i < vm::kExecSessions; ++i)
    p.exec[static_cast<size_t>(i)].fd = open_port(vm::exec_port_name(i), O_RDWR | O_NONBLOCK);
  p.tty = open_port(vm::kTtyPort, O_RDWR | O_NONBLOCK);
  p.out = found.count(vm::kOutPort) ? ::open(found[vm::kOutPort].c_str(), O_WRONLY) : ::open("/dev/null", O_WRONLY);
  p.err = found.count(vm::kErrPort) ? ::open(found[vm::kErrPort].c_str(), O_WRONLY) : ::open("/dev/null", O_WRONLY);
  if (g_ctl < 0 || p.out < 0 || p.err < 0) power_off();
  trace("ports open");
  return p;
}

// The guest's one container and the host's requests about it, until its process exits.
class Agent {
 public:
  Agent(Ports& ports, runtime::Globals g, std::string id)
      : ports_(ports), g_(std::move(g)), id_(std::move(id)), life_(g_, runtime::make_container_backend(g_)) {}

  // The container from the plan's bundle; "ready" to the host.
  void create(const std::string& bundle) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    sfd_.reset(::signalfd(-1, &set, SFD_CLOEXEC));
    runtime::CreateOptions o;
    o.id = id_;
    o.bundle = bundle;
    auto launched = life_.create_for(o, runtime::LaunchMode::foreground, false);
    if (!launched) fail(launched.error().msg);
    init_ = launched->pid;
    // process.terminal: the runtime gave us the container pty's master; relay it to the tty port.
    master_ = std::move(launched->console_master);
    if (master_.valid()) ::fcntl(master_.get(), F_SETFL, O_NONBLOCK);
    trace("container created");
    say(vm::FrameType::ready);
  }

  // Serves the ports until the container's process exits; its exit code.
  int serve() {
    // The host may have sent "start" right behind the plan: it is already read, in ctl's buffer.
    on_frames(ports_.ctl, false);
    int64_t last_look_ms = 0;
    while (code_ < 0) {
      bool gone = false;
      Polled set = poll_set(&gone);
      // A port whose host has gone reports POLLHUP until one connects again: look again now and then.
      int n = ::poll(set.fds.data(), set.fds.size(), gone ? 20 : -1);
      if (gone && monotonic_ms() - last_look_ms >= 20) {  // also when other fds keep poll busy
        last_look_ms = monotonic_ms();
        ports_.ctl.host_gone = ports_.cmd.host_gone = false;
        for (auto& port : ports_.exec) port.host_gone = false;
      }
      if (n <= 0) continue;
      for (size_t k = 0; k < set.fds.size(); ++k) dispatch(set.what[k].first, set.what[k].second, set.fds[k].revents);
      for (size_t i = 0; i < ex_.size(); ++i) {
        if (ex_[i].active() && ex_[i].code >= 0) settle_exec_terminal(i);
        if (ex_[i].active() && ex_[i].drained()) finish_exec(i);
      }
    }
    if (master_.valid() && ports_.tty >= 0) {
      // What the workload wrote last is still in the pty.
      struct pollfd q = {master_.get(), POLLIN, 0};
      while (::poll(&q, 1, 0) > 0 && (q.revents & POLLIN) && relay(master_.get(), ports_.tty)) {
      }
    }
    return code_;
  }

 private:
  // What each polled fd is: a fixed one, or one of an exec session's (with its index).
  enum Kind {
    kSignals,
    kCtl,
    kCmd,
    kFromContainer,
    kFromHost,
    kExecPort,
    kExecOut,
    kExecErr,
    kExecFail,
    kExecStarted,
    kExecIn,
    kExecConsole,
    kExecMaster
  };
  struct Polled {
    std::vector<struct pollfd> fds;
    std::vector<std::pair<Kind, size_t>> what;
    void add(int fd, short events, Kind k, size_t i = 0) {
      if (fd < 0) return;
      fds.push_back({fd, events, 0});
      what.emplace_back(k, i);
    }
  };

  // *gone: some port's host is away (then poll looks again every 20 ms).
  Polled poll_set(bool* gone) {
    Polled set;
    set.add(sfd_.get(), POLLIN, kSignals);
    set.add(ports_.ctl.host_gone ? -1 : ports_.ctl.fd, POLLIN, kCtl);
    set.add(ports_.cmd.host_gone ? -1 : ports_.cmd.fd, POLLIN, kCmd);
    set.add(ports_.tty >= 0 ? master_.get() : -1, POLLIN, kFromContainer);
    set.add(master_.valid() ? ports_.tty : -1, POLLIN, kFromHost);
    *gone = ports_.ctl.host_gone || ports_.cmd.host_gone;
    for (size_t i = 0; i < ex_.size(); ++i) {
      Port& port = ports_.exec[i];
      Exec& e = ex_[i];
      *gone = *gone || port.host_gone;
      set.add(port.host_gone ? -1 : port.fd, POLLIN, kExecPort, i);
      set.add(e.started.get(), POLLIN, kExecStarted, i);  // before its output: "started" goes first
      set.add(e.out.get(), POLLIN, kExecOut, i);
      set.add(e.err.get(), POLLIN, kExecErr, i);
      set.add(e.fail.get(), POLLIN, kExecFail, i);
      set.add(e.in_pending.empty() ? -1 : e.in.get(), POLLOUT, kExecIn, i);
      set.add(e.console_listen.get(), POLLIN, kExecConsole, i);
      set.add(e.master.get(), POLLIN, kExecMaster, i);
    }
    return set;
  }

  void dispatch(Kind kind, size_t i, short r) {
    bool in = (r & (POLLIN | POLLHUP)) != 0;
    switch (kind) {
      case kSignals:
        if (r & POLLIN) on_child_exits();
        break;
      case kCtl:
        if (in) on_frames(ports_.ctl, true);
        break;
      case kCmd:
        if (in) on_frames(ports_.cmd, true);
        break;
      case kFromContainer:
        if (in && !relay(master_.get(), ports_.tty)) master_.reset();
        break;
      case kFromHost:
        if (r & POLLIN) relay(ports_.tty, master_.get());
        break;
      case kExecPort:
        if (in) on_frames(ports_.exec[i], true);
        if (ports_.exec[i].gone_for(500)) orphan_exec(i);
        break;
      case kExecStarted:
        if (in) read_exec_started(i);
        break;
      case kExecOut:
        if (in) pump_frame(ex_[i].out, vm::FrameType::out, ports_.exec[i].fd);
        break;
      case kExecErr:
        if (in) pump_frame(ex_[i].err, vm::FrameType::err, ports_.exec[i].fd);
        break;
      case kExecFail:
        if (in) read_exec_failure(i);
        break;
      case kExecIn:
        if (r & (POLLOUT | POLLERR | POLLHUP)) flush_exec_stdin(i);
        break;
      case kExecConsole:
        if (in) take_exec_terminal(i);
        break;
      case kExecMaster:
        if (in) pump_frame(ex_[i].master, vm::FrameType::out, ports_.exec[i].fd);
        break;
    }
  }

  void on_child_exits() {
    struct signalfd_siginfo si;
    (void)!::read(sfd_.get(), &si, sizeof si);
    int status;
    pid_t r;
    while ((r = ::waitpid(-1, &status, WNOHANG)) > 0) {
      int c = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (r == init_) code_ = c;
      for (auto& e : ex_)
        if (r == e.pid) e.code = c;
    }
  }

  void read_exec_failure(size_t i) {
    char b[1024];
    ssize_t r = ::read(ex_[i].fail.get(), b, sizeof b);
    if (r > 0)
      ex_[i].fail_msg.append(b, static_cast<size_t>(r));
    else
      ex_[i].fail.reset();
  }

  // The runtime wrote the process's pid: it runs. The host hears it once ("exec -d" returns then).
  void read_exec_started(size_t i) {
    Exec& e = ex_[i];
    char b[32];
    ssize_t r = ::read(e.started.get(), b, sizeof b);
    if (r <= 0) {
      e.started.reset();
      return;
    }
    std::string pid(b, static_cast<size_t>(r));
    e.process = static_cast<pid_t>(std::atoi(pid.c_str()));
    if (!e.said_started && !e.orphaned) write_port(ports_.exec[i].fd, vm::encode_frame(vm::FrameType::started, pid));
    e.said_started = true;
    if (e.orphaned && e.process > 0) ::kill(e.process, SIGKILL);
  }

  // The runtime sends the exec's pty master: from now on the process's stdin is the pty.
  void take_exec_terminal(size_t i) {
    Exec& e = ex_[i];
    UniqueFd conn(::accept4(e.console_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) return;
    auto m = runtime::recv_fd(conn.get());
    e.console_listen.reset();
    ::unlink(e.console_path.c_str());
    if (!m) return;
    e.master = std::move(*m);
    ::fcntl(e.master.get(), F_SETFL, O_NONBLOCK);
    if (e.size.ws_row) ::ioctl(e.master.get(), TIOCSWINSZ, &e.size);
    e.in = UniqueFd(::dup(e.master.get()));
    ::fcntl(e.in.get(), F_SETFD, FD_CLOEXEC);
    flush_exec_stdin(i);
  }

  // The process exited: what it wrote last is read from the pty (a process it left behind may
  // hold the slave open: the session ends anyway).
  void settle_exec_terminal(size_t i) {
    Exec& e = ex_[i];
    if (e.console_listen.valid()) {
      e.console_listen.reset();
      ::unlink(e.console_path.c_str());
    }
    while (e.master.valid()) pump_frame(e.master, vm::FrameType::out, ports_.exec[i].fd);
  }

  // The host's end of a session went (its `ocelot exec`, or a detached exec's stand-in, is gone):
  // nothing stands for the process on the host any more, and it would hold the port for good.
  // It is killed, as the session's process group would be with its terminal.
  void orphan_exec(size_t i) {
    Exec& e = ex_[i];
    if (!e.active() || e.orphaned) return;
    e.orphaned = true;
    if (e.process > 0) ::kill(e.process, SIGKILL);
    ::kill(e.pid, SIGKILL);  // the runtime's exec waiting for it, or still setting it up
  }

  // Writes what the process takes of the host's stdin bytes; a process that closed its stdin
  // (EPIPE: the agent is PID 1, which SIGPIPE does not kill) drops the rest.
  void flush_exec_stdin(size_t i) {
    Exec& e = ex_[i];
    while (!e.in_pending.empty() && e.in.valid()) {
      ssize_t w = ::write(e.in.get(), e.in_pending.data(), e.in_pending.size());
      if (w > 0) {
        e.in_pending.erase(0, static_cast<size_t>(w));
      } else if (w < 0 && errno == EAGAIN) {
        return;
      } else if (!(w < 0 && errno == EINTR)) {
        e.in_pending.clear();
        e.in.reset();
      }
    }
    if (e.in_pending.empty() && e.in_ending) e.in.reset();
  }

  void finish_exec(size_t i) {
    Exec& e = ex_[i];
    if (!e.orphaned)
      write_port(ports_.exec[i].fd, e.fail_msg.empty() ? vm::encode_frame(vm::FrameType::exit, std::to_string(e.code))
                                                       : vm::encode_frame(vm::FrameType::error, e.fail_msg));
    e = Exec{};
  }

  void on_frames(Port& port, bool pull) {
    if (pull) port.pull();
    vm::Frame f;
    while (port.frame(f)) {
      if (&port == &ports_.cmd)
        on_command(f);
      else if (&port == &ports_.ctl)
        on_control(f);
      else
        on_exec_port(static_cast<size_t>(&port - ports_.exec.data()), f);
    }
  }

  // ctl: "start" (once), the signals run forwards to the container's process, and run's
  // terminal size (the kernel then signals SIGWINCH to the pty's foreground process group).
  void on_control(const vm::Frame& f) {
    if (f.type == vm::FrameType::kill) {
      if (int sig = signal_number(f.payload); sig > 0) ::kill(init_, sig);
    } else if (f.type == vm::FrameType::resize) {
      set_terminal_size(f.payload);
    } else if (f.type == vm::FrameType::start && !started_) {
      if (auto st = life_.start(id_); !st) fail(st.error().msg);
      started_ = true;
      trace("container started");
      say(vm::FrameType::started);
    }
  }

  // "ROWS COLS" on the container's pty (the kernel then signals its foreground process group).
  void set_terminal_size(const std::string& text) {
    struct winsize ws = {};
    if (master_.valid() && vm::decode_window_size(text, &ws.ws_row, &ws.ws_col))
      ::ioctl(master_.get(), TIOCSWINSZ, &ws);
  }

  // cmd: one command, answered there: done, or the runtime's own error.
  void on_command(const vm::Frame& f) {
    Status st;
    if (f.type == vm::FrameType::kill || f.type == vm::FrameType::kill_all) {
      int sig = signal_number(f.payload);
      st = sig < 0 ? Status(Error::make("bad signal " + quote(f.payload)))
                   : life_.kill(id_, sig, f.type == vm::FrameType::kill_all);
    } else if (f.type == vm::FrameType::update) {
      auto r = spec::parse_resources(f.payload);
      st = r ? life_.update(id_, *r) : Status(std::move(r).error());
    } else if (f.type == vm::FrameType::resize) {
      set_terminal_size(f.payload);  // a console socket's caller resized the host pty
    } else {
      st = Error::make(std::string("unexpected \"") + vm::frame_type_name(f.type) + "\" on the command port");
    }
    write_port(ports_.cmd.fd,
               st ? vm::encode_frame(vm::FrameType::done) : vm::encode_frame(vm::FrameType::error, st.error().msg));
  }

  // An exec port: a request (one at a time on each), a signal for its process, or its stdin.
  void on_exec_port(size_t i, const vm::Frame& f) {
    Exec& e = ex_[i];
    int fd = ports_.exec[i].fd;
    if (f.type == vm::FrameType::kill) {
      if (int sig = signal_number(f.payload); sig > 0 && e.active()) ::kill(e.pid, sig);
    } else if (e.orphaned) {
      // A new host on a port whose last process is still being killed: it waits for the next one.
      write_port(fd, vm::encode_frame(vm::FrameType::error, "this exec port is still ending its last process"));
    } else if (f.type == vm::FrameType::resize) {
      if (vm::decode_window_size(f.payload, &e.size.ws_row, &e.size.ws_col) && e.master.valid())
        ::ioctl(e.master.get(), TIOCSWINSZ, &e.size);  // the kernel signals SIGWINCH
    } else if (f.type == vm::FrameType::in) {
      if (!e.active() || !e.in.valid()) return;
      // A terminal's input does not end: closing it would hang the process up (the host's end of
      // a terminal never sends EOF as such either).
      if (f.payload.empty() && (e.master.valid() || !e.console_path.empty())) return;
      if (f.payload.empty()) e.in_ending = true;
      e.in_pending += f.payload;
      flush_exec_stdin(i);
    } else if (f.type == vm::FrameType::exec) {
      if (e.active()) {
        // The host side locks a port for its session: a new request means the last host went
        // and came back before we saw it go. Its process has no one on the host any more.
        orphan_exec(i);
        write_port(fd, vm::encode_frame(vm::FrameType::error, "this exec port is still ending its last process"));
        return;
      }
      auto started = start_exec(f.payload, g_, static_cast<int>(i));
      if (!started)
        write_port(fd, vm::encode_frame(vm::FrameType::error, started.error().msg));
      else
        e = std::move(*started);
    }
  }

  Ports& ports_;
  runtime::Globals g_;
  std::string id_;
  runtime::Lifecycle life_;
  UniqueFd sfd_, master_;
  pid_t init_ = 0;
  bool started_ = false;
  int code_ = -1;
  std::array<Exec, vm::kExecSessions> ex_;
};

}  // namespace

// The guest's PID 1: whatever goes wrong becomes an error frame and a power-off, never a panic.
int main(int argc, char** argv) try {
  // The warm-up container's workload (warm_up): the agent's binary, which has nothing to do there.
  // (The kernel passes PID 1 only the words of its command line it does not know: never this.)
  if (argc == 2 && std::string(argv[1]) == "warm-up") return 0;
  runtime::assume_protected_exe();
  mount_guest_filesystems();
  g_trace = cmdline_value("ocelot.trace") == "1";
  // Tracing: the runtime's own debug lines and step timings go to the kernel log too.
  if (g_trace) log::set_sink([](log::Level, std::string_view m) { trace(std::string(m)); }, true);
  trace("modules loaded, root switched, file systems mounted");
  Ports ports = open_ports();

  // Building a VM template: the host saves the guest here, waiting for a plan, and every guest
  // restored from it resumes in receive_plan.
  vm::AgentSpares spares;
  if (cmdline_value("ocelot.template") == "1") {
    spares = vm::prepare_spares_in_guest();
    if (!spares.notes.empty()) trace(spares.notes);
    say(vm::FrameType::waiting);
  }
  vm::GuestPlan plan = receive_plan(ports.ctl);
  take_host_state(plan);
  if (!plan.nics.empty()) {
    // The host's interfaces are the guest's NICs, in the spare network namespace (made now after
    // a cold boot), which the container joins.
    if (!spares.netns) {
      if (auto st = vm::pin_spare_netns(); !st) fail(st.error().msg);
    }
    if (auto st = vm::configure_guest_network(plan.nics, vm::kSpareNetns); !st) fail(st.error().msg);
    plan.config_json = vm::share_guest_netns(plan.config_json, vm::kSpareNetns);
    trace("network configured");
  } else if (spares.netns) {
    plan.config_json = vm::join_spare_netns(plan.config_json, vm::kSpareNetns);
  }
  mount_shares(plan);
  trace("host shares mounted");

  // The workload's stdio: /dev/null in, the host's output ports out.
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(ports.out, 1) < 0 || ::dup2(ports.err, 2) < 0) power_off();
  runtime::Globals g;
  g.root = "/run/ocelot";
  std::string id = plan.id.empty() ? cmdline_value("ocelot.id") : plan.id;
  Agent agent(ports, g, id.empty() ? "vm" : id);
  agent.create(std::string(vm::kGuestBase) + "/bundle");
  int code = agent.serve();
  trace("container exited: " + std::to_string(code));
  // Written through before the host hears "exit": it may stop the VMM at once.
  ::sync();
  say(vm::FrameType::exit, std::to_string(code));
  power_off();
} catch (const std::exception& e) {
  fail(std::string("the agent: ") + e.what());
} catch (...) {
  fail("the agent: unknown failure");
}
