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
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "runtime/container_backend.h"
#include "runtime/lifecycle.h"
#include "runtime/safe_exe.h"
#include "spec/parse.h"
#include "vm/agent/agent_spares.h"
#include "vm/transport/exec_request.h"
#include "vm/transport/frame.h"
#include "vm/share/guest_config.h"
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
  // Reads what is there; false when the host is not connected.
  bool pull() {
    char c[65536];
    ssize_t r = ::read(fd, c, sizeof c);
    if (r <= 0) {
      host_gone = r == 0 || errno != EAGAIN;
      return false;
    }
    reader.feed(std::string_view(c, static_cast<size_t>(r)));
    return true;
  }
  // The next whole frame; a malformed one ends the guest (the host is ocelot: it never sends one).
  bool frame(vm::Frame& out) {
    auto f = reader.next();
    if (!f) fail("from the host: " + f.error().msg);
    if (!*f) return false;
    out = std::move(**f);
    return true;
  }
};

// Waits for the host's plan frame.
GuestPlan receive_plan(Port& ctl) {
  vm::Frame f;
  while (!ctl.frame(f)) {
    struct pollfd p = {ctl.fd, POLLIN, 0};
    if (::poll(&p, 1, ctl.host_gone ? 20 : -1) > 0 || ctl.host_gone) {
      // Short: a guest restored from a template starts here and the host connects right away.
      if (!ctl.pull() && ctl.host_gone) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
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
    for (size_t i = 0; i < n; ++i)
      e.buf[i] = static_cast<unsigned char>(std::stoul(plan.seed.substr(2 * i, 2), nullptr, 16));
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

// Writes all of data to a port, waiting for room (a port's queue fills when the host reads slowly).
bool write_port(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return false;
    struct pollfd p = {fd, POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0 || (p.revents & POLLHUP)) return false;
  }
  return true;
}

// One `ocelot exec` at a time (the port serves one host connection): a child of ours runs
// runtime::exec_in_container with its stdout/stderr on pipes that we frame onto the port.
struct Exec {
  pid_t pid = -1;
  int out = -1, err = -1, fail = -1;  // read ends; fail carries a setup error message
  int code = -1;
  std::string fail_msg;
  bool active() const { return pid > 0; }
};

void start_exec(Exec& e, const std::string& json, int port_fd, const runtime::Globals& g) {
  auto req = vm::decode_exec(json);
  if (!req) {
    write_port(port_fd, vm::encode_frame(vm::FrameType::error, req.error().msg));
    return;
  }
  runtime::ExecOptions o = req->options;
  if (!req->process_text.empty()) {
    std::string path = std::string(kGuestBase) + "/exec-process.json";
    if (!fs::write_file(path, req->process_text, 0600)) {
      write_port(port_fd, vm::encode_frame(vm::FrameType::error, "write the exec process file"));
      return;
    }
    o.process_file = path;
  }
  int po[2], pe[2], pf[2];
  if (::pipe2(po, O_CLOEXEC) != 0 || ::pipe2(pe, O_CLOEXEC) != 0 || ::pipe2(pf, O_CLOEXEC) != 0) {
    write_port(port_fd, vm::encode_frame(vm::FrameType::error, "pipe: " + errno_text(errno)));
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int nul = ::open("/dev/null", O_RDONLY);
    ::dup2(nul, 0);
    ::dup2(po[1], 1);
    ::dup2(pe[1], 2);
    auto r = runtime::Lifecycle(g, runtime::make_container_backend(g)).exec(o);
    if (!r) {
      (void)!::write(pf[1], r.error().msg.data(), r.error().msg.size());
      ::_exit(255);
    }
    ::_exit(*r);
  }
  ::close(po[1]);
  ::close(pe[1]);
  ::close(pf[1]);
  if (pid < 0) {
    ::close(po[0]);
    ::close(pe[0]);
    ::close(pf[0]);
    write_port(port_fd, vm::encode_frame(vm::FrameType::error, "fork: " + errno_text(errno)));
    return;
  }
  e = Exec{};
  e.pid = pid;
  e.out = po[0];
  e.err = pe[0];
  e.fail = pf[0];
}

// Moves what a pipe has onto the port as a frame; false at EOF.
bool pump_frame(int& fd, vm::FrameType tag, int port_fd) {
  char buf[16384];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) {
    ::close(fd);
    fd = -1;
    return false;
  }
  write_port(port_fd, vm::encode_frame(tag, std::string_view(buf, static_cast<size_t>(n))));
  return true;
}

}  // namespace

int main() {
  runtime::assume_protected_exe();
  load_modules_and_switch_root();
  mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_or_fail("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_or_fail("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_or_fail("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_or_fail("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_or_fail("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  g_trace = cmdline_value("ocelot.trace") == "1";
  // Tracing: the runtime's own debug lines and step timings go to the kernel log too.
  if (g_trace) log::set_sink([](log::Level, std::string_view m) { trace(std::string(m)); }, true);
  trace("modules loaded, root switched, file systems mounted");

  std::map<std::string, std::string> ports;
  size_t want_ports = std::strtoul(cmdline_value("ocelot.ports").c_str(), nullptr, 10);
  if (want_ports == 0) want_ports = 5;
  for (int i = 0; i < 1000 && (ports = find_ports()).size() < want_ports; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!ports.count(vm::kCtlPort)) {
    trace("error: no control port");
    power_off();
  }
  Port ctl, cmd;
  ctl.fd = g_ctl = ::open(ports[vm::kCtlPort].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  cmd.fd = ports.count(vm::kCmdPort) ? ::open(ports[vm::kCmdPort].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC) : -1;
  int tty = ports.count(vm::kTtyPort) ? ::open(ports[vm::kTtyPort].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC) : -1;
  Port xp;  // exec
  xp.fd = ports.count(vm::kExecPort) ? ::open(ports[vm::kExecPort].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC) : -1;
  int out = ::open(ports.count(vm::kOutPort) ? ports[vm::kOutPort].c_str() : "/dev/null", O_WRONLY);
  int err = ::open(ports.count(vm::kErrPort) ? ports[vm::kErrPort].c_str() : "/dev/null", O_WRONLY);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (g_ctl < 0 || out < 0 || err < 0 || devnull < 0) power_off();
  trace("ports open");

  // Building a VM template: the host saves the guest here, waiting for a plan, and every guest
  // restored from it resumes in receive_plan.
  vm::AgentSpares spares;
  if (cmdline_value("ocelot.template") == "1") {
    spares = vm::prepare_spares_in_guest();
    if (!spares.notes.empty()) trace(spares.notes);
    say(vm::FrameType::waiting);
  }
  vm::GuestPlan plan = receive_plan(ctl);
  take_host_state(plan);
  if (spares.netns) plan.config_json = vm::join_spare_netns(plan.config_json, vm::kSpareNetns);
  mount_shares(plan);
  trace("host shares mounted");

  // The workload's stdio: /dev/null in, the host's output ports out.
  ::dup2(devnull, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  runtime::Globals g;
  g.root = "/run/ocelot";
  runtime::CreateOptions o;
  o.id = plan.id.empty() ? cmdline_value("ocelot.id") : plan.id;
  if (o.id.empty()) o.id = "vm";
  o.bundle = std::string(vm::kGuestBase) + "/bundle";
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  runtime::Lifecycle life(g, runtime::make_container_backend(g));
  auto launched = life.create_for(o, runtime::LaunchMode::foreground, false);
  if (!launched) fail(launched.error().msg);
  trace("container created");
  say(vm::FrameType::ready);

  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);
  bool started = false;
  int code = -1;
  Exec ex;
  // process.terminal: the runtime gave us the container pty's master; relay it to the tty port.
  int master = launched->console_master.valid() ? launched->console_master.get() : -1;
  if (master >= 0) ::fcntl(master, F_SETFL, O_NONBLOCK);
  auto relay = [](int from, int to) -> bool {
    char b[16384];
    ssize_t n = ::read(from, b, sizeof b);
    if (n <= 0) return n < 0 && errno == EAGAIN;
    write_port(to, std::string(b, static_cast<size_t>(n)));
    return true;
  };
  auto signal_number = [](const std::string& t) {
    int v = std::atoi(t.c_str());
    return v >= 0 && v < 65 ? v : -1;
  };
  // One command from the cmd port, answered there: done, or the runtime's own error.
  auto command = [&](const vm::Frame& f) {
    Status st;
    if (f.type == vm::FrameType::kill || f.type == vm::FrameType::kill_all) {
      int sig = signal_number(f.payload);
      st = sig < 0 ? Status(Error::make("bad signal " + quote(f.payload)))
                   : life.kill(o.id, sig, f.type == vm::FrameType::kill_all);
    } else if (f.type == vm::FrameType::update) {
      auto r = spec::parse_resources(f.payload);
      st = r ? life.update(o.id, *r) : Status(std::move(r).error());
    } else {
      st = Error::make(std::string("unexpected \"") + vm::frame_type_name(f.type) + "\" on the command port");
    }
    write_port(cmd.fd,
               st ? vm::encode_frame(vm::FrameType::done) : vm::encode_frame(vm::FrameType::error, st.error().msg));
  };
  // The host may have sent "start" right behind the plan: it is already read, in ctl's buffer.
  bool first = true;
  while (code < 0) {
    struct pollfd p[9] = {{sfd, POLLIN, 0},
                          {ctl.host_gone ? -1 : ctl.fd, POLLIN, 0},
                          {cmd.host_gone ? -1 : cmd.fd, POLLIN, 0},
                          {xp.host_gone ? -1 : xp.fd, POLLIN, 0},
                          {ex.out, POLLIN, 0},
                          {ex.err, POLLIN, 0},
                          {ex.fail, POLLIN, 0},
                          {tty >= 0 ? master : -1, POLLIN, 0},
                          {master >= 0 ? tty : -1, POLLIN, 0}};
    // A port whose host has gone reports POLLHUP until one connects again: look again now and then.
    bool gone = ctl.host_gone || cmd.host_gone || xp.host_gone;
    int n = ::poll(p, 9, first ? 0 : gone ? 20 : -1);
    if (n == 0 && !first) {
      ctl.host_gone = cmd.host_gone = xp.host_gone = false;
      continue;
    }
    if (n < 0) continue;
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      (void)!::read(sfd, &si, sizeof si);
      int status;
      pid_t r;
      while ((r = ::waitpid(-1, &status, WNOHANG)) > 0) {
        int c = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r == launched->pid) code = c;
        if (r == ex.pid) ex.code = c;
      }
    }
    if ((p[7].revents & (POLLIN | POLLHUP)) && !relay(master, tty)) master = -1;
    if (p[8].revents & POLLIN) relay(tty, master);
    if (p[4].revents & (POLLIN | POLLHUP)) pump_frame(ex.out, vm::FrameType::out, xp.fd);
    if (p[5].revents & (POLLIN | POLLHUP)) pump_frame(ex.err, vm::FrameType::err, xp.fd);
    if (p[6].revents & (POLLIN | POLLHUP)) {
      char b[1024];
      ssize_t r = ::read(ex.fail, b, sizeof b);
      if (r > 0)
        ex.fail_msg.append(b, static_cast<size_t>(r));
      else {
        ::close(ex.fail);
        ex.fail = -1;
      }
    }
    if (ex.active() && ex.code >= 0 && ex.out < 0 && ex.err < 0 && ex.fail < 0) {
      write_port(xp.fd, ex.fail_msg.empty() ? vm::encode_frame(vm::FrameType::exit, std::to_string(ex.code))
                                            : vm::encode_frame(vm::FrameType::error, ex.fail_msg));
      ex = Exec{};
    }
    for (Port* port : {&ctl, &cmd, &xp}) {
      int i = port == &ctl ? 1 : port == &cmd ? 2 : 3;
      bool readable = n > 0 && (p[i].revents & (POLLIN | POLLHUP));
      if (!readable && !(first && port == &ctl)) continue;
      if (readable) port->pull();
      vm::Frame f;
      while (port->frame(f)) {
        if (port == &cmd) {
          command(f);
        } else if (f.type == vm::FrameType::kill) {
          int sig = signal_number(f.payload);
          if (sig <= 0) continue;
          if (port == &xp) {
            if (ex.active()) ::kill(ex.pid, sig);
          } else {
            ::kill(launched->pid, sig);
          }
        } else if (f.type == vm::FrameType::start && port == &ctl && !started) {
          if (auto st = life.start(o.id); !st) fail(st.error().msg);
          started = true;
          trace("container started");
          say(vm::FrameType::started);
        } else if (f.type == vm::FrameType::exec && port == &xp) {
          if (ex.active())
            write_port(xp.fd, vm::encode_frame(vm::FrameType::error, "another exec is running"));
          else
            start_exec(ex, f.payload, xp.fd, g);
        }
      }
    }
    first = false;
  }
  if (master >= 0 && tty >= 0) {
    // What the workload wrote last is still in the pty.
    struct pollfd q = {master, POLLIN, 0};
    while (::poll(&q, 1, 0) > 0 && (q.revents & POLLIN) && relay(master, tty)) {
    }
  }
  trace("container exited: " + std::to_string(code));
  // Written through before the host hears "exit": it may stop the VMM at once.
  ::sync();
  say(vm::FrameType::exit, std::to_string(code));
  power_off();
}
