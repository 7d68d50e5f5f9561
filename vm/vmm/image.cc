#include "vm/vmm/image.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>

#include "base/fs.h"
#include "base/strings.h"
#include "vm/vmm/cpio.h"

namespace ocelot::vm {

namespace {

std::string kvm_marker() { return std::string(kVmCache) + "/kvm-unusable"; }

}  // namespace

Result<GuestKernel> find_kernel(const std::string& requested) {
  std::string where = requested;
  if (where.empty()) {
    const char* env = ::getenv("OCELOT_VM_KERNEL_DIR");
    where = env && *env ? env : std::string(kVmCache) + "/kernel";
  }
  GuestKernel k;
  if (fs::is_dir(where)) {
    k.image = where + "/vmlinux";
    if (fs::is_dir(where + "/modules")) k.modules_dir = where + "/modules";
  } else {
    k.image = where;
    std::string m = fs::dirname(where) + "/modules";
    if (!requested.empty() && fs::is_dir(m)) k.modules_dir = m;
  }
  if (!fs::exists(k.image)) {
    if (requested.empty())
      return Error::make("VM isolation needs a guest kernel: \"" + k.image +
                         "\" does not exist (run `make vm-setup`: it unpacks Debian's linux-image-amd64 there)");
    return Error::make("--vm-kernel: \"" + k.image + "\" does not exist");
  }
  return k;
}

Result<std::string> find_qemu() {
  const char* p = ::getenv("PATH");
  std::istringstream in(p && *p ? p : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(in, dir, ':')) {
    std::string q = dir + "/qemu-system-x86_64";
    if (!dir.empty() && ::access(q.c_str(), X_OK) == 0) return q;
  }
  return Error::make("VM isolation needs qemu-system-x86_64, which is not installed (apt-get install qemu-system-x86)");
}

Result<std::string> find_share_helper() {
  const char* v = ::getenv("OCELOT_VM_SHARE_HELPER");
  if (v && std::string(v) == "off") return std::string();
  if (v && *v) {
    if (*v != '/' || ::access(v, X_OK) != 0)
      return Error::make("OCELOT_VM_SHARE_HELPER: " + quote(v) + " is not an executable's absolute path");
    return std::string(v);
  }
  for (const char* c : {"/usr/lib/qemu/virtfs-proxy-helper", "/usr/libexec/virtfs-proxy-helper"})
    if (::access(c, X_OK) == 0) return std::string(c);
  return std::string();
}

namespace {
// device, inode, size and mtime: changes whenever the file is rebuilt or replaced.
std::string stat_identity(const std::string& path) {
  struct stat st = {};
  if (::stat(path.c_str(), &st) != 0) return path + " ?\n";
  return path + " " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + " " + std::to_string(st.st_size) +
         " " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
}

// What the cached initramfs was made from, by file identity: reading and hashing 3 MB on every
// VM start cost about 25 ms here, a stat of each file costs microseconds.
std::string inputs_identity(const std::string& agent, const GuestKernel& k) {
  std::string id = stat_identity(agent);
  if (k.modules_dir.empty()) return id;
  id += stat_identity(k.modules_dir + "/order");
  if (auto order = fs::read_file(k.modules_dir + "/order")) {
    std::istringstream in(*order);
    std::string m;
    while (in >> m) id += stat_identity(k.modules_dir + "/" + m + ".ko");
  }
  return id;
}
}  // namespace

Result<std::string> initramfs(const std::string& agent, const GuestKernel& k) {
  std::string index = std::string(kVmCache) + "/initramfs.index";
  std::string identity = inputs_identity(agent, k);
  if (auto known = fs::read_file(index); known && known->size() > identity.size() && known->rfind(identity, 0) == 0) {
    std::string path = known->substr(identity.size());
    if (fs::exists(path)) return path;
  }
  auto agent_bytes = fs::read_file(agent);
  if (!agent_bytes)
    return Error::make("VM isolation needs the guest agent \"" + agent + "\", which is missing (build it with `make`)");
  std::vector<std::pair<std::string, std::string>> modules;  // load order
  std::string order_text;
  if (!k.modules_dir.empty()) {
    auto order = fs::read_file(k.modules_dir + "/order");
    if (!order) return std::move(order).error().wrap("guest kernel modules");
    order_text = *order;
    std::istringstream in(*order);
    std::string m;
    while (in >> m) {
      auto bytes = fs::read_file(k.modules_dir + "/" + m + ".ko");
      if (!bytes) return std::move(bytes).error().wrap("guest kernel module " + m);
      modules.emplace_back(m, std::move(*bytes));
    }
  }
  size_t h = std::hash<std::string_view>{}(*agent_bytes);
  for (const auto& [name, bytes] : modules)
    h = h * 31 + std::hash<std::string_view>{}(name)*7 + std::hash<std::string_view>{}(bytes);
  char hex[17];
  (void)std::snprintf(hex, sizeof hex, "%016zx", h);
  std::string name = std::string("initramfs-") + hex + ".cpio";
  std::string path = std::string(kVmCache) + "/" + name;
  if (fs::exists(path)) {
    (void)fs::write_file_atomic(index, identity + path, 0644);
    return path;
  }

  CpioWriter w;
  for (const char* d : {"dev", "proc", "sys", "run", "tmp", "newroot", "lib", "lib/modules"}) w.dir(d);
  w.file("init", *agent_bytes, 0755);
  w.file("lib/modules/order", order_text);
  for (const auto& [m, bytes] : modules) w.file("lib/modules/" + m + ".ko", bytes);
  OCL_CHECK(fs::mkdir_p(kVmCache, 0755));
  OCL_CHECK(fs::write_file_atomic(path, w.finish(), 0644));
  // Older images (of an earlier agent or kernel) are never used again.
  if (DIR* d = ::opendir(kVmCache)) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("initramfs-", 0) == 0 && n != name) ::unlink((std::string(kVmCache) + "/" + n).c_str());
    }
    ::closedir(d);
  }
  (void)fs::write_file_atomic(index, identity + path, 0644);
  return path;
}

namespace {

struct HostIdentity {
  std::string boot_id, kernel, qemu;
};

HostIdentity host_identity(const std::string& qemu) {
  HostIdentity h;
  if (auto b = fs::read_file("/proc/sys/kernel/random/boot_id")) h.boot_id = b->substr(0, b->find('\n'));
  if (auto k = fs::read_file("/proc/sys/kernel/osrelease")) h.kernel = k->substr(0, k->find('\n'));
  h.qemu = stat_identity(qemu);
  if (!h.qemu.empty() && h.qemu.back() == '\n') h.qemu.pop_back();
  return h;
}

std::string marker_line(const std::string& text, const std::string& name) {
  size_t p = text.rfind(name + " ", 0) == 0 ? 0 : text.find("\n" + name + " ");
  if (p == std::string::npos) return "";
  p = text.find(' ', p + (p == 0 ? 0 : 1)) + 1;
  return text.substr(p, text.find('\n', p) - p);
}

}  // namespace

std::string kvm_marker_text(const std::string& boot_id, const std::string& kernel, const std::string& qemu_identity,
                            const std::string& why) {
  std::string one_line = why;
  for (auto& c : one_line)
    if (c == '\n') c = ' ';
  return "boot " + boot_id + "\nkernel " + kernel + "\nqemu " + qemu_identity + "\nreason " + one_line + "\n";
}

bool kvm_marker_applies(const std::string& marker, const std::string& boot_id, const std::string& kernel,
                        const std::string& qemu_identity) {
  return !boot_id.empty() && marker_line(marker, "boot") == boot_id && marker_line(marker, "kernel") == kernel &&
         marker_line(marker, "qemu") == qemu_identity;
}

bool kvm_usable(const std::string& qemu) {
  if (const char* a = ::getenv("OCELOT_VM_ACCEL"); a && *a) return std::string(a) == "kvm";
  if (auto m = fs::read_file(kvm_marker())) {
    HostIdentity h = host_identity(qemu);
    if (kvm_marker_applies(*m, h.boot_id, h.kernel, h.qemu)) return false;
    ::unlink(kvm_marker().c_str());  // another boot, kernel or QEMU: try KVM again
  }
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
  if (ok) {
    int vm = ::ioctl(fd, KVM_CREATE_VM, 0);
    ok = vm >= 0;
    if (vm >= 0) ::close(vm);
  }
  ::close(fd);
  return ok;
}

void remember_kvm_broken(const std::string& qemu, const std::string& why) {
  HostIdentity h = host_identity(qemu);
  (void)fs::mkdir_p(kVmCache, 0755);
  (void)fs::write_file_atomic(kvm_marker(), kvm_marker_text(h.boot_id, h.kernel, h.qemu, why), 0644);
}

unsigned long host_tsc_khz() {
  // The kernel's own calibration, when it exports it; else the first "cpu MHz" of /proc/cpuinfo.
  if (auto t = fs::read_file("/sys/devices/system/cpu/cpu0/tsc_freq_khz")) return std::strtoul(t->c_str(), nullptr, 10);
  auto t = fs::read_file("/proc/cpuinfo");
  if (!t) return 0;
  auto p = t->find("cpu MHz");
  if (p == std::string::npos) return 0;
  p = t->find(':', p);
  if (p == std::string::npos) return 0;
  return static_cast<unsigned long>(std::strtod(t->c_str() + p + 1, nullptr) * 1000);
}

}  // namespace ocelot::vm
