#include "vm/vmm/template.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "runtime/console.h"
#include "vm/transport/channel.h"
#include "vm/transport/protocol.h"
#include "vm/vmm/image.h"
#include "vm/vmm/process.h"
#include "vm/vmm/qmp.h"

namespace ocelot::vm {

namespace {

// Bump when what a template holds changes shape (ports, slots, cmdline).
constexpr const char* kTemplateFormat = "ocelot-vm-template-1";

// path, size and mtime: a replaced or upgraded file changes it.
std::string file_identity(const std::string& path) {
  char buf[PATH_MAX];
  std::string real = ::realpath(path.c_str(), buf) ? buf : path;
  struct stat st = {};
  if (::stat(real.c_str(), &st) != 0) return real + " missing";
  return real + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

std::string qemu_path(const std::string& qemu) {
  if (qemu.find('/') != std::string::npos) return qemu;
  for (const char* d : {"/usr/bin/", "/usr/local/bin/", "/bin/"})
    if (::access((std::string(d) + qemu).c_str(), X_OK) == 0) return d + qemu;
  return qemu;
}

// The template's plan: a guest of no bundle, RAM in a shared file, saved through its monitor.
VmPlan build_plan(const VmPlan& base, const std::string& empty_dir) {
  VmPlan b = base;
  for (auto& s : b.shares) {  // the template belongs to no bundle
    s.host_path = empty_dir;
    s.readonly = true;
  }
  b.served_shares = 0;  // nothing to serve: the guest mounts nothing before it is saved
  b.ram_file = "ram";   // relative: QEMU runs in dir
  b.ram_shared = true;
  b.qmp_socket = "qmp.sock";
  b.template_build = true;
  b.stdout_path = b.stderr_path = "/dev/null";
  if (!b.console_log.empty()) b.console_log = "console.log";
  // The NICs without the container's taps and MACs (the key counts them; a restore brings both).
  b.nic_placeholders = true;
  for (size_t i = 0; i < b.nic_macs.size(); ++i) {
    char mac[18];
    (void)std::snprintf(mac, sizeof mac, "02:00:00:00:00:%02zx", i & 0xff);
    b.nic_macs[i] = mac;
  }
  return b;
}

Status build_into(const VmPlan& base, const std::string& dir, const std::string& empty_dir) {
  VmPlan b = build_plan(base, empty_dir);
  UniqueFd pty_master;
  if (!b.tty_path.empty()) {
    // The template's tty port needs a host pty at build time; each restore opens its own.
    auto pty = OCL_TRY(runtime::open_host_pty());
    pty_master = std::move(pty.first);
    b.tty_path = pty.second;
  }
  VmmSpawn how;
  how.argv = qemu_argv(b);
  how.argv[0] = qemu_path(b.qemu);
  how.env = vmm_environment(environ);
  how.dir = dir;
  how.log_path = dir + "/vmm.log";
  if (b.sandbox) how.jail = plan_jail(b, dir);
  VmmProcess vmm = OCL_TRY(VmmProcess::spawn(how));
  UniqueFd ctl = OCL_TRY(vmm.connect(b.ctl_socket, 30000, "the template's VMM started"));
  FrameChannel ch(ctl.get());
  auto f = ch.read(b.kvm ? 30000 : 240000, vmm.pid());
  if (!f) {
    // QEMU's own word when it stopped (a /dev/kvm that cannot run a guest says so there); the
    // guest's channel may reset a moment before QEMU has exited.
    for (int64_t end = monotonic_ms() + 1000; monotonic_ms() < end && !vmm.exited();)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (vmm.exited()) return vmm.failure("the template's guest did not boot");
    return std::move(f).error().wrap("the template's guest did not boot");
  }
  if (f->type != FrameType::waiting)
    return Error::make(std::string("the template's guest sent \"") + frame_type_name(f->type) + "\": " + f->payload);
  Qmp q = OCL_TRY(Qmp::connect(dir, b.qmp_socket, vmm.pid(), 30000));
  OCL_TRY(q.execute("migrate-set-capabilities", R"({"capabilities":[{"capability":"x-ignore-shared","state":true}]})"));
  UniqueFd state(::open((dir + "/state").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!state.valid()) return Error::last("create the template's state file");
  OCL_CHECK(q.send_fd("state", state.get()));
  OCL_TRY(q.execute("migrate", R"({"uri":"fd:state"})"));
  for (int64_t end = monotonic_ms() + 60000;;) {
    std::string r = OCL_TRY(q.execute("query-migrate"));
    auto j = nlohmann::json::parse(r, nullptr, false);
    auto text = [&](const char* key, const std::string& def) {
      auto it = j.is_object() ? j.find(key) : j.end();
      return it != j.end() && it->is_string() ? it->get<std::string>() : def;
    };
    std::string status = text("status", "");
    if (status == "completed") break;
    if (status == "failed" || status == "cancelled")
      return Error::make("saving the template failed: " + text("error-desc", status));
    if (monotonic_ms() > end) return Error{ETIMEDOUT, "timed out saving the template"};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (void)q.execute("quit", "", 2000);
  for (int64_t end = monotonic_ms() + 5000; monotonic_ms() < end && !vmm.exited();)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  for (const char* s : {"qmp.sock", kCtlSocket, kCmdSocket}) ::unlink((dir + "/" + s).c_str());
  for (int i = 0; i < kExecSessions; ++i) ::unlink((dir + "/" + exec_socket_name(i)).c_str());
  return {};
}

// The value of "<name> ..." in a key text.
std::string key_line(const std::string& key, const std::string& name) {
  size_t p = key.find("\n" + name + " ");
  if (p == std::string::npos) return "";
  p += name.size() + 2;
  return key.substr(p, key.find('\n', p) - p);
}

// Templates of an earlier QEMU, kernel or agent are never restored again (their key differs) but
// hold guest RAM on disk: remove them when a new one is built, and builds that died half way.
void remove_stale(const std::string& root, const std::string& key) {
  DIR* d = ::opendir(root.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n[0] == '.') continue;
    if (auto b = n.find(".build."); b != std::string::npos) {
      pid_t builder = static_cast<pid_t>(std::strtol(n.c_str() + b + 7, nullptr, 10));
      if (builder > 0 && ::kill(builder, 0) != 0 && errno == ESRCH) stale.push_back(n);
      continue;
    }
    auto k = fs::read_file(root + "/" + n + "/key");
    if (!k) continue;
    for (const char* what : {"qemu", "kernel", "initrd"}) {
      if (key_line(*k, what) != key_line(key, what)) {
        stale.push_back(n);
        break;
      }
    }
  }
  ::closedir(d);
  for (const auto& n : stale) (void)fs::remove_tree(root + "/" + n);
}

}  // namespace

std::string template_unfit(const VmPlan& p) {
  if (p.shares.size() > kTemplateShareSlots)
    return std::to_string(p.shares.size()) + " shared directories, a template has " +
           std::to_string(kTemplateShareSlots);
  if (!p.extra_cmdline.empty()) return "extra kernel arguments (OCELOT_VM_KERNEL_ARGS)";
  return "";
}

std::string template_key(const VmPlan& p, const std::string& qemu_identity, const std::string& kernel_identity) {
  std::string k = kTemplateFormat;
  k += "\nqemu " + qemu_identity;
  k += "\nkernel " + kernel_identity;
  k += "\ninitrd " + p.initrd;  // its name is the hash of its content
  k += "\naccel " + std::string(p.kvm ? "kvm" : "tcg");
  k += "\nmemory " + std::to_string(p.memory_mib) + "M";
  k += "\ncpus " + std::to_string(p.cpus);
  k += "\ntsc_khz " + std::to_string(p.tsc_khz);
  // The console's serial device and its kernel arguments (tracing) are in the saved guest.
  k += "\nconsole " + std::string(p.console_log.empty() ? "no" : "yes");
  k += "\ntty " + std::string(p.tty_path.empty() ? "no" : "yes");
  k += "\nexec " + std::to_string(p.exec_sessions);
  k += "\nnics " + std::to_string(p.nic_macs.size());
  k += "\nslots " + std::to_string(kTemplateShareSlots) + "\n";
  return k;
}

std::string template_dir_name(const std::string& key) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  char b[24];
  (void)std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
  return b;
}

VmPlan with_template_slots(VmPlan p, const std::string& empty_dir) {
  p.served_shares = p.shares.size();
  for (size_t i = p.shares.size(); i < kTemplateShareSlots; ++i)
    p.shares.push_back({i == 0 ? "rootfs" : "m" + std::to_string(i), empty_dir, "", true});
  return p;
}

Result<Template> ensure_template(const VmPlan& p, const std::string& empty_dir, bool* built) {
  *built = false;
  std::string key = template_key(p, file_identity(qemu_path(p.qemu)), file_identity(p.kernel));
  std::string root = std::string(kVmCache) + "/templates";
  OCL_CHECK_CTX(fs::mkdir_p(root, 0700), "create " + quote(root));
  Template t{root + "/" + template_dir_name(key)};
  if (auto have = fs::read_file(t.dir + "/key")) {
    if (*have == key) return t;
    discard_template(t);  // a hash collision or a damaged one: never restore it
  }
  remove_stale(root, key);
  std::string tmp = t.dir + ".build." + std::to_string(::getpid());
  (void)fs::remove_tree(tmp);
  OCL_CHECK_CTX(fs::mkdir_p(tmp, 0700), "create " + quote(tmp));
  auto st = build_into(p, tmp, empty_dir);
  if (st) st = fs::write_file(tmp + "/key", key, 0600);
  if (!st) {
    (void)fs::remove_tree(tmp);
    return std::move(st).error().wrap("build the VM template");
  }
  // Another ocelot may have built the same template meanwhile: keep the first.
  if (::rename(tmp.c_str(), t.dir.c_str()) != 0) (void)fs::remove_tree(tmp);
  *built = true;
  return t;
}

Result<std::string> template_empty_dir() {
  std::string d = std::string(kVmCache) + "/empty";
  if (!fs::is_dir(d)) OCL_CHECK_CTX(fs::mkdir_p(d, 0555), "create " + quote(d));
  return d;
}

void discard_template(const Template& t) {
  std::string away = t.dir + ".stale." + std::to_string(::getpid());
  if (::rename(t.dir.c_str(), away.c_str()) == 0) (void)fs::remove_tree(away);
}

}  // namespace ocelot::vm
