// ocelot-agent: PID 1 of the guest in VM-isolated mode (a static binary, the initramfs's /init).
// It loads the virtio and 9p modules the initramfs carries, moves to a tmpfs root, mounts what a
// guest needs and cgroup2 (the guest is a pure cgroup v2 system), receives the guest plan from the
// host, mounts the host's shares over virtio-9p, and runs the container with ocelot's own runtime
// code: a container inside a VM. It answers the host on the ports of vm/protocol.h and powers the
// guest off when the container has exited (or could not be created).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "runtime/base/fs.h"
#include "runtime/container.h"
#include "vm/guest_config.h"
#include "vm/protocol.h"

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

// Non-blocking: with no host connected the line is dropped (a blocking write would wait for a
// host that may never come, and the guest would never power off).
void say(const std::string& line) {
  if (g_ctl < 0) return;
  std::string l = line + "\n";
  (void)!::write(g_ctl, l.data(), l.size());
}

[[noreturn]] void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();
}

[[noreturn]] void fail(const std::string& msg) {
  trace("error: " + msg);
  say("error " + msg);
  power_off();
}

void mount_or_fail(const char* src, const char* dst, const char* type, unsigned long flags, const char* data) {
  ::mkdir(dst, 0755);
  if (::mount(src, dst, type, flags, data) != 0 && errno != EBUSY)
    fail(std::string("mount ") + type + " on \"" + dst + "\": " + errno_name(errno));
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
    if (::syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) fail("load module " + name + ": " + errno_name(errno));
    ::close(fd);
    ::unlink(path.c_str());
  }
  ::unlink("/init");  // the running agent stays mapped
  mount_or_fail("tmpfs", "/newroot", "tmpfs", MS_NOSUID, "mode=0755");
  if (::chdir("/newroot") != 0 || ::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0)
    fail("switch the guest root to a tmpfs: " + errno_name(errno));
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

// A host port: lines in, with the host's disconnections (POLLHUP until it connects again).
struct Port {
  int fd = -1;
  std::string buf;
  bool host_gone = false;
  // Reads what is there; false when the host is not connected.
  bool pull() {
    char c[4096];
    ssize_t r = ::read(fd, c, sizeof c);
    if (r <= 0) {
      host_gone = r == 0 || errno != EAGAIN;
      return false;
    }
    buf.append(c, static_cast<size_t>(r));
    return true;
  }
  bool line(std::string& out) {
    size_t nl = buf.find('\n');
    if (nl == std::string::npos) return false;
    out = buf.substr(0, nl);
    buf.erase(0, nl + 1);
    return true;
  }
};

// Waits for the host's "plan <N>" and its N bytes.
GuestPlan receive_plan(Port& ctl) {
  std::string header;
  for (;;) {
    if (ctl.line(header)) break;
    struct pollfd p = {ctl.fd, POLLIN, 0};
    if (::poll(&p, 1, ctl.host_gone ? 20 : -1) > 0 || ctl.host_gone) {
      if (!ctl.pull() && ctl.host_gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (header.rfind("plan ", 0) != 0) fail("expected the guest plan from the host, got \"" + header + "\"");
  size_t n = std::strtoul(header.c_str() + 5, nullptr, 10);
  while (ctl.buf.size() < n + 1) {
    struct pollfd p = {ctl.fd, POLLIN, 0};
    ::poll(&p, 1, 100);
    ctl.pull();
  }
  std::string body = ctl.buf.substr(0, n);
  ctl.buf.erase(0, n + 1);
  auto plan = vm::decode_guest_plan(body);
  if (!plan) fail(plan.error().msg);
  return std::move(*plan);
}

void mount_shares(const GuestPlan& plan) {
  for (const auto& s : plan.shares) {
    if (!fs::mkdir_p(s.guest_path, 0755)) fail("create \"" + s.guest_path + "\"");
    // msize and cache=mmap: about 10x the default's write speed (measured).
    if (::mount(s.tag.c_str(), s.guest_path.c_str(), "9p", s.readonly ? MS_RDONLY : 0,
                "trans=virtio,version=9p2000.L,msize=512000,cache=mmap") != 0)
      fail("mount the host share \"" + s.tag + "\" on \"" + s.guest_path + "\": " + errno_name(errno));
  }
  std::string bundle = std::string(kGuestBase) + "/bundle";
  if (!fs::mkdir_p(bundle, 0700) || !fs::write_file(bundle + "/config.json", plan.config_json, 0600))
    fail("write the guest's config.json");
}

}  // namespace

int main() {
  load_modules_and_switch_root();
  mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_or_fail("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  mount_or_fail("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_or_fail("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_or_fail("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_or_fail("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  g_trace = cmdline_value("ocelot.trace") == "1";
  trace("modules loaded, root switched, file systems mounted");

  std::map<std::string, std::string> ports;
  for (int i = 0; i < 1000 && (ports = find_ports()).size() < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!ports.count(vm::kCtlPort)) {
    trace("error: no control port");
    power_off();
  }
  Port ctl, sig;
  ctl.fd = g_ctl = ::open(ports[vm::kCtlPort].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  sig.fd = ports.count(vm::kSigPort) ? ::open(ports[vm::kSigPort].c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC) : -1;
  int out = ::open(ports.count(vm::kOutPort) ? ports[vm::kOutPort].c_str() : "/dev/null", O_WRONLY);
  int err = ::open(ports.count(vm::kErrPort) ? ports[vm::kErrPort].c_str() : "/dev/null", O_WRONLY);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (g_ctl < 0 || out < 0 || err < 0 || devnull < 0) power_off();
  trace("ports open");

  vm::GuestPlan plan = receive_plan(ctl);
  mount_shares(plan);
  trace("host shares mounted");

  // The workload's stdio: /dev/null in, the host's output ports out.
  ::dup2(devnull, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  runtime::Globals g;
  g.root = "/run/ocelot";
  runtime::CreateOptions o;
  o.id = cmdline_value("ocelot.id");
  if (o.id.empty()) o.id = "vm";
  o.bundle = std::string(vm::kGuestBase) + "/bundle";
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  auto launched = runtime::create_container(g, o, runtime::LaunchMode::foreground);
  if (!launched) fail(launched.error().msg);
  trace("container created");
  say("ready");

  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);
  bool started = false;
  int code = -1;
  while (code < 0) {
    struct pollfd p[3] = {{sfd, POLLIN, 0}, {ctl.host_gone ? -1 : ctl.fd, POLLIN, 0}, {sig.host_gone ? -1 : sig.fd, POLLIN, 0}};
    // A port whose host has gone reports POLLHUP until one connects again: look again now and then.
    int n = ::poll(p, 3, (ctl.host_gone || sig.host_gone) ? 20 : -1);
    if (n == 0) {
      ctl.host_gone = sig.host_gone = false;
      continue;
    }
    if (n < 0) continue;
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      (void)!::read(sfd, &si, sizeof si);
      int status;
      pid_t r;
      while ((r = ::waitpid(-1, &status, WNOHANG)) > 0)
        if (r == launched->pid) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    for (Port* port : {&ctl, &sig}) {
      int i = port == &ctl ? 1 : 2;
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      port->pull();
      std::string l;
      while (port->line(l)) {
        if (l.rfind("kill ", 0) == 0) {
          ::kill(launched->pid, std::atoi(l.c_str() + 5));
        } else if (l == "start" && port == &ctl && !started) {
          if (auto st = runtime::start_container(g, o.id); !st) fail(st.error().msg);
          started = true;
          trace("container started");
          say("started");
        }
      }
    }
  }
  trace("container exited: " + std::to_string(code));
  say("exit " + std::to_string(code));
  power_off();
}
