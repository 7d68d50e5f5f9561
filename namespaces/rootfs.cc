#include "namespaces/rootfs.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/fs.h"
#include "base/mountinfo.h"
#include "namespaces/copy_up.h"
#include "namespaces/mount_fd.h"
#include "namespaces/mount_options.h"
#include "namespaces/procfs.h"
#include "namespaces/safe_path.h"
#include "spec/validate.h"

namespace ocelot::ns {

static std::string q(const std::string& s) { return "\"" + s + "\""; }

static Status sys_mount(const std::string& src, const std::string& target, const char* type, unsigned long flags,
                        const std::string& data, const std::string& what) {
  if (::mount(src.empty() ? nullptr : src.c_str(), target.c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) != 0)
    return Error::last(what);
  return ok();
}

// Flags a bind remount must keep: in a user namespace the kernel refuses to drop locked ones.
static unsigned long locked_flags(const std::string& path) {
  struct statvfs sv;
  if (::statvfs(path.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

// runc's rule (needsSetupDev): the default devices and /dev symlinks are made unless /dev is a
// bind mount, also when the config mounts nothing on /dev (they go into the image's /dev then).
static bool wants_setup_dev(const spec::Config& c) {
  for (const auto& m : c.mounts)
    if (fs::clean_abs(m.destination) == "/dev") {
      auto o = parse_mount_options(m.options);
      if (o && is_bind_mount(m, *o)) return false;
    }
  return true;
}

static bool inside(const std::string& path, const std::string& dir) {
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

// Files under /proc a bind mount may cover (runc's list, checkProcMount: lxcfs and CRIU use them).
static bool proc_file_may_be_covered(const std::string& path) {
  static const char* const allowed[] = {
      "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",    "/proc/swaps",
      "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};
  for (const char* a : allowed)
    if (path == a) return true;
  return false;
}

// Where a mount would land, checked before anything is mounted (CVE-2019-16884, CVE-2023-27561,
// CVE-2025-52881 classes): procfs and sysfs only on an ordinary directory reached without a
// symlink; nothing inside /proc but runc's list; nothing led into /sys by a symlink of the image.
static Status check_destination(int rootfd, const spec::Mount& m, const std::string& dest, bool bind) {
  std::string real = OCL_TRY(resolve_in_root(rootfd, dest));
  bool redirected = real != dest;
  if (m.type == "proc" || m.type == "sysfs") {
    std::string must = "filesystem " + q(m.type) + " must be mounted on an ordinary directory";
    if (redirected)
      return Error::make("mount " + q(m.type) + " on " + q(dest) + ": a symlink in the rootfs leads to " + q(real) +
                         ": " + must);
    struct stat st;
    if (dest != "/" && ::fstatat(rootfd, dest.c_str() + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
      return Error::make("mount " + q(m.type) + " on " + q(dest) + ": not a directory: " + must);
  }
  if (inside(real, "/proc")) {
    bool allowed = real == "/proc" ? m.type == "proc" : bind && proc_file_may_be_covered(real);
    if (!allowed)
      return Error::make("mount " + q(dest) + ": " + q(real) + " cannot be mounted because it is inside /proc");
  }
  if (redirected && inside(real, "/sys"))
    return Error::make("mount " + q(dest) + ": a symlink in the rootfs leads it into /sys (" + q(real) + "), refused");
  return ok();
}

static Status apply_attrs(const std::string& target, const MountOptions& o, const std::string& dest) {
  if (!o.attr_set && !o.attr_clr) return ok();
  struct mount_attr attr = {};
  attr.attr_set = o.attr_set;
  attr.attr_clr = o.attr_clr;
  if (::syscall(SYS_mount_setattr, AT_FDCWD, target.c_str(), AT_RECURSIVE, &attr, sizeof attr) != 0)
    return Error::last("set recursive mount attributes on " + q(dest));
  return ok();
}

static Status mount_cgroup(int rootfd, const RootfsParams& p, const std::string& dest, const MountOptions& o) {
  unsigned long base = (o.flags & ~(MS_RDONLY | MS_BIND | MS_REC | MS_REMOUNT));
  UniqueFd dir = OCL_TRY(mkdir_all_in_root(rootfd, dest));
  if (p.cgroup_mounts.size() == 1 && p.cgroup_mounts[0].name.empty()) {
    // Pure cgroup v2: one cgroup2 mount, or a bind of our cgroup when mounting is refused.
    std::string target = fd_path(dir.get());
    auto st = sys_mount("cgroup2", target, "cgroup2", base | (o.flags & MS_RDONLY), "", "mount cgroup2 on " + q(dest));
    if (!st && (st.error().code == EPERM || st.error().code == EBUSY))
      st = sys_mount(p.cgroup_mounts[0].host_source, target, nullptr, MS_BIND | MS_REC, "",
                     "bind cgroup2 on " + q(dest));
    return st;
  }
  // v1 and hybrid: a tmpfs holding one directory per v1 hierarchy (runc's layout). The tmpfs is
  // new and ours: its directories are made and opened in it directly.
  OCL_CHECK(sys_mount("tmpfs", fd_path(dir.get()), "tmpfs", base, "mode=755", "mount tmpfs on " + q(dest)));
  UniqueFd top = OCL_TRY(open_in_root(rootfd, dest, O_PATH | O_DIRECTORY));
  for (const auto& cm : p.cgroup_mounts) {
    std::string sub = dest + "/" + cm.name;
    if (::mkdirat(top.get(), cm.name.c_str(), 0755) != 0 && errno != EEXIST) return Error::last("mkdir " + q(sub));
    UniqueFd fd = OCL_TRY(open_child(top.get(), cm.name, O_PATH | O_DIRECTORY));
    std::string target = fd_path(fd.get());
    Status st = Error::make("");
    if (p.cgroupns)
      st = sys_mount("cgroup", target, cm.fstype.c_str(), base | (o.flags & MS_RDONLY),
                     cm.fstype == "cgroup" ? cm.data : "", "mount cgroup " + q(cm.name) + " on " + q(sub));
    if (!st.ok()) {
      OCL_CHECK(sys_mount(cm.host_source, target, nullptr, MS_BIND | MS_REC, "",
                          "bind cgroup " + q(cm.name) + " on " + q(sub)));
      if (o.flags & MS_RDONLY) {
        UniqueFd m = OCL_TRY(open_child(top.get(), cm.name, O_PATH | O_DIRECTORY));
        OCL_CHECK(sys_mount("", fd_path(m.get()), nullptr,
                            MS_BIND | MS_REMOUNT | MS_RDONLY | base | locked_flags(cm.host_source), "",
                            "remount " + q(sub) + " read-only"));
      }
    }
    // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
    if (cm.name.find(',') != std::string::npos) {
      size_t i = 0;
      while (i <= cm.name.size()) {
        size_t j = cm.name.find(',', i);
        if (j == std::string::npos) j = cm.name.size();
        std::string link = cm.name.substr(i, j - i);
        i = j + 1;
        if (::symlinkat(cm.name.c_str(), top.get(), link.c_str()) != 0 && errno != EEXIST)
          return Error::last("symlink " + q(dest + "/" + link));
      }
    }
  }
  // The tmpfs itself stays writable, as runc leaves it: "ro" applies to the hierarchies.
  return ok();
}

static Status mount_one(int rootfd, const RootfsParams& p, const spec::Mount& m, bool& dev_readonly) {
  std::string dest = fs::clean_abs("/" + m.destination);
  auto o = parse_mount_options(m.options);
  if (!o) return std::move(o).error().wrap("mount " + q(dest));
  if (o->idmap) return Error::make("mount " + q(dest) + ": idmapped mounts are not supported");
  OCL_CHECK(check_destination(rootfd, m, dest, is_bind_mount(m, *o)));
  if (m.type == "cgroup" || m.type == "cgroup2") {
    if (p.before_cgroup_mount) OCL_CHECK(p.before_cgroup_mount(p.before_cgroup_mount_ctx));
    return mount_cgroup(rootfd, p, dest, *o);
  }

  if (is_bind_mount(m, *o)) {
    std::string src = m.source.empty() || m.source[0] == '/' ? m.source : fs::join(p.bundle, m.source);
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) return Error::last("bind mount source " + q(src) + " for " + q(dest));
    {
      auto made = S_ISDIR(st.st_mode) ? mkdir_all_in_root(rootfd, dest) : create_file_in_root(rootfd, dest);
      if (!made) return std::move(made).error();
      UniqueFd fd = std::move(*made);
      OCL_CHECK(sys_mount(src, fd_path(fd.get()), nullptr, MS_BIND | (o->recursive_bind ? MS_REC : 0), "",
                          "bind mount " + q(src) + " on " + q(dest)));
    }
    UniqueFd fd = OCL_TRY(open_in_root(rootfd, dest, O_PATH));
    std::string target = fd_path(fd.get());
    unsigned long extra = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra || o->clear) {
      unsigned long f = (locked_flags(target) | extra) & ~(o->clear & ~locked_flags(src));
      OCL_CHECK(sys_mount("", target, nullptr, MS_BIND | MS_REMOUNT | f, "", "remount " + q(dest)));
    }
    OCL_CHECK(apply_attrs(target, *o, dest));
    if (o->propagation) OCL_CHECK(sys_mount("", target, nullptr, o->propagation, "", "set propagation of " + q(dest)));
    return ok();
  }

  // A tmpfs on a directory the image has takes that directory's mode (runc chmods the new root
  // to it; a tmpfs's own default is 1777) unless the options say "mode=".
  std::optional<mode_t> covered_mode;
  if (m.type == "tmpfs" && o->data.find("mode=") == std::string::npos) {
    auto existing = open_in_root(rootfd, dest, O_PATH | O_DIRECTORY);
    struct stat st;
    if (existing && ::fstat(existing->get(), &st) == 0) covered_mode = st.st_mode & 07777;
  }
  UniqueFd dir = OCL_TRY(mkdir_all_in_root(rootfd, dest));
  // tmpcopyup: the new tmpfs starts with a copy of what it covers (podman adds it to --tmpfs
  // mounts and to /run, /tmp, /var/tmp of --read-only). The covered directory stays reachable
  // through an fd opened before the mount.
  UniqueFd covered;
  if (o->tmpcopyup) {
    if (m.type != "tmpfs") return Error::make("mount " + q(dest) + ": option \"tmpcopyup\" needs type \"tmpfs\"");
    covered = OCL_TRY(open_in_root(rootfd, dest, O_RDONLY | O_DIRECTORY));
  }
  unsigned long flags = o->flags & ~MS_REMOUNT;
  if (dest == "/dev" && (flags & MS_RDONLY)) {
    dev_readonly = true;  // populated first, made read-only in finalize
    flags &= ~MS_RDONLY;
  }
  std::string data = o->data;
  {
    std::string target = fd_path(dir.get());
    const char* type = m.type.empty() ? nullptr : m.type.c_str();
    auto st = sys_mount(m.source, target, type, flags, data, "mount " + q(m.type) + " on " + q(dest));
    if (!st && st.error().code == EPERM && (m.type == "sysfs" || m.type == "mqueue")) {
      // In a user namespace without its own network (or ipc) namespace the kernel refuses a new
      // sysfs (mqueue); bind the host's instead, as runc does.
      std::string host = m.type == "sysfs" ? "/sys" : "/dev/mqueue";
      st = sys_mount(host, target, nullptr, MS_BIND | MS_REC, "", "bind " + q(host) + " on " + q(dest));
      if (st && (flags & MS_RDONLY)) {
        UniqueFd again = OCL_TRY(open_in_root(rootfd, dest, O_PATH | O_DIRECTORY));
        st = sys_mount("", fd_path(again.get()), nullptr, MS_BIND | MS_REMOUNT | MS_REC | locked_flags(host) | flags,
                       "", "remount " + q(dest) + " read-only");
      }
    }
    OCL_CHECK(st);
  }
  if (covered.valid() || covered_mode) {
    UniqueFd top = OCL_TRY(open_in_root(rootfd, dest, O_RDONLY | O_DIRECTORY));
    if (covered_mode && ::fchmod(top.get(), *covered_mode) != 0) return Error::last("chmod " + q(dest));
    if (covered.valid()) OCL_CHECK_CTX(copy_tree(covered.get(), top.get()), "tmpcopyup " + q(dest));
  }
  if (o->propagation || o->attr_set || o->attr_clr) {
    UniqueFd fd = OCL_TRY(open_in_root(rootfd, dest, O_PATH | O_DIRECTORY));
    OCL_CHECK(apply_attrs(fd_path(fd.get()), *o, dest));
    if (o->propagation)
      OCL_CHECK(sys_mount("", fd_path(fd.get()), nullptr, o->propagation, "", "set propagation of " + q(dest)));
  }
  return ok();
}

struct DefaultDev {
  const char* name;
  unsigned maj, min;
};
static const DefaultDev kDefaultDevs[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                                          {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

static Status make_device(int rootfd, const std::string& path, char type, unsigned maj, unsigned min, mode_t mode,
                          uid_t uid, gid_t gid, bool bind) {
  if (bind) {
    // mknod is refused in a user namespace: bind the host's node instead.
    UniqueFd fd = OCL_TRY(create_file_in_root(rootfd, path, 0644));
    return sys_mount(path, fd_path(fd.get()), nullptr, MS_BIND, "", "bind device " + q(path));
  }
  std::string dir = fs::dirname(path);
  UniqueFd dfd = OCL_TRY(mkdir_all_in_root(rootfd, dir));
  std::string name = fs::basename(path);
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  ::unlinkat(dfd.get(), name.c_str(), 0);
  // With umask 0 the node gets exactly its mode (no chmod through /proc/self/fd afterwards).
  mode_t old_umask = ::umask(0);
  int rc = ::mknodat(dfd.get(), name.c_str(), kind | (mode & 07777), makedev(maj, min));
  ::umask(old_umask);
  if (rc != 0) return Error::last("mknod " + q(path));
  // A new node belongs to our fsuid and fsgid (a setgid directory aside): chown only if that is
  // not already what was asked.
  struct stat st;
  if (::fstatat(dfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Error::last("stat " + q(path));
  if (st.st_uid != uid || st.st_gid != gid) {
    UniqueFd node = OCL_TRY(open_child(dfd.get(), name, O_PATH));
    if (::fchownat(node.get(), "", uid, gid, AT_EMPTY_PATH) != 0) return Error::last("chown " + q(path));
  }
  return ok();
}

static Status setup_dev(int rootfd, const RootfsParams& p) {
  const auto& c = *p.config;
  for (const auto& d : kDefaultDevs) {
    std::string path = std::string("/dev/") + d.name;
    bool overridden = false;
    if (c.linux)
      for (const auto& ld : c.linux->devices)
        if (fs::clean_abs(ld.path) == path) overridden = true;
    if (!overridden) OCL_CHECK(make_device(rootfd, path, 'c', d.maj, d.min, 0666, 0, 0, p.new_userns));
  }
  UniqueFd dev = OCL_TRY(open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY));
  struct {
    const char* target;
    const char* link;
  } links[] = {{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
               {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},      {"pts/ptmx", "ptmx"}};
  for (auto& l : links) {
    if (std::string(l.link) == "core" && !fs::exists("/proc/kcore")) continue;
    if (std::string(l.link) == "ptmx") ::unlinkat(dev.get(), "ptmx", 0);
    if (::symlinkat(l.target, dev.get(), l.link) != 0 && errno != EEXIST)
      return Error::last("symlink \"/dev/" + std::string(l.link) + "\"");
  }
  return ok();
}

static Status setup_devices(int rootfd, const RootfsParams& p) {
  if (!p.config->linux) return ok();
  for (const auto& d : p.config->linux->devices) {
    std::string path = fs::clean_abs(d.path);
    char t = d.type == "u" ? 'c' : d.type[0];
    OCL_CHECK(make_device(rootfd, path, t, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
                          d.file_mode.value_or(0666), d.uid.value_or(0), d.gid.value_or(0), p.new_userns));
  }
  return ok();
}

// What "/" gets in the new mount namespace before anything is mounted: rootfsPropagation when it
// asks for sharing (runc: a volume bound from the host then stays in the host's peer group, so
// mounts propagate both ways, as an rshared volume promises), else a recursive slave (private when
// asked): nothing the container mounts reaches the host.
unsigned long initial_root_propagation(const spec::Config& c) {
  std::string prop = c.linux ? c.linux->rootfs_propagation : "";
  if (prop == "shared" || prop == "rshared") return MS_SHARED | MS_REC;
  if (prop == "private" || prop == "rprivate") return MS_PRIVATE | MS_REC;
  return MS_SLAVE | MS_REC;
}

// The mount holding the rootfs, made private when it is shared (only "/" made rshared leaves one): the rootfs bound
// onto itself would otherwise appear in every peer (the host's mount namespace among them), and pivot_root refuses a
// new root whose parent mount is shared.
static Status make_rootfs_mount_private(const std::string& rootfs) {
  auto mi = fs::read_file("/proc/self/mountinfo");
  if (!mi) return std::move(mi).error().wrap("read mountinfo");
  auto holder = mount_holding(parse_mountinfo(*mi), rootfs);
  if (!holder || !holder->shared()) return ok();
  return sys_mount("", holder->mount_point, nullptr, MS_PRIVATE, "", "make " + q(holder->mount_point) + " private");
}

Status prepare_rootfs_in_child(const RootfsParams& p) {
  const auto& c = *p.config;
  if (!p.host_mount_ns) {
    unsigned long prop = initial_root_propagation(c);
    OCL_CHECK(sys_mount("", "/", nullptr, prop, "", "set the propagation of \"/\""));
    // After a recursive slave or private no mount here is shared: nothing to look up.
    if (prop & MS_SHARED) OCL_CHECK(make_rootfs_mount_private(p.rootfs));
  }
  // pivot_root needs the new root to be a mount point; without a mount namespace the bind is
  // what makes a read-only root (and the cleanup at delete) touch the rootfs alone.
  OCL_CHECK(sys_mount(p.rootfs, p.rootfs, nullptr, MS_BIND | MS_REC, "", "bind rootfs " + q(p.rootfs)));
  UniqueFd rootfd(::open(p.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd.valid()) return Error::last("open rootfs " + q(p.rootfs));
  bool dev_ro = false;
  for (const auto& m : c.mounts) OCL_CHECK(mount_one(rootfd.get(), p, m, dev_ro));
  if (wants_setup_dev(c)) OCL_CHECK(setup_dev(rootfd.get(), p));
  OCL_CHECK(setup_devices(rootfd.get(), p));
  return ok();
}

Status enter_root_in_child(const RootfsParams& p) {
  if (p.host_mount_ns) {
    if (::chdir(p.rootfs.c_str()) != 0) return Error::last("chdir to rootfs " + q(p.rootfs));
    if (::chroot(".") != 0) return Error::last("chroot to rootfs");
    if (::chdir("/") != 0) return Error::last("chdir \"/\"");
    return ok();
  }
  if (p.no_pivot) {
    if (::chdir(p.rootfs.c_str()) != 0) return Error::last("chdir to rootfs " + q(p.rootfs));
    OCL_CHECK(sys_mount(p.rootfs, "/", nullptr, MS_MOVE, "", "move rootfs to \"/\""));
    if (::chroot(".") != 0) return Error::last("chroot to rootfs");
    if (::chdir("/") != 0) return Error::last("chdir \"/\"");
    return ok();
  }
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then drops it
  // without needing a directory for it inside the rootfs.
  UniqueFd oldroot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  UniqueFd newroot(::open(p.rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!oldroot.valid() || !newroot.valid()) return Error::last("open roots for pivot_root");
  if (::fchdir(newroot.get()) != 0) return Error::last("chdir to rootfs " + q(p.rootfs));
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return Error::last("pivot_root to " + q(p.rootfs));
  if (::fchdir(oldroot.get()) != 0) return Error::last("chdir to old root");
  OCL_CHECK(sys_mount("", ".", nullptr, MS_SLAVE | MS_REC, "", "make old root a slave"));
  if (::umount2(".", MNT_DETACH) != 0) return Error::last("unmount old root");
  if (::chdir("/") != 0) return Error::last("chdir \"/\"");
  return ok();
}

static Status readonly_path(const std::string& path) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    if (errno == ENOENT) return ok();
    return Error::last("bind read-only path " + q(path));
  }
  unsigned long f = locked_flags(path) | MS_RDONLY;
  if (::mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_REC | f, nullptr) != 0)
    return Error::last("remount " + q(path) + " read-only");
  return ok();
}

// The container's /dev/null, verified to be the null device (1:3) before it hides anything: /dev
// may come from the image or a bind mount, and a masked file must not show what they chose
// (CVE-2025-31133 class). Opened without following a symlink.
static Result<UniqueFd> verified_null() {
  UniqueFd fd(::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Error::last("open \"/dev/null\" to mask paths with");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::last("stat \"/dev/null\"");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    return Error::make(
        "\"/dev/null\" in the container is not the null device (char 1:3): masked paths cannot be hidden with it");
  return fd;
}

static Status masked_path(const std::string& path, UniqueFd& null) {
  UniqueFd target(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!target.valid()) return ok();  // nothing there to hide
  struct stat st;
  if (::fstat(target.get(), &st) != 0) return Error::last("stat " + q(path));
  if (S_ISDIR(st.st_mode)) return mount_empty_tmpfs_onto(target.get(), "mask " + q(path));
  if (!null.valid()) null = OCL_TRY(verified_null());
  return bind_fd_onto(null.get(), target.get(), "mask " + q(path));
}

// Through the runtime's own procfs handle, never the container's /proc by path (procfs.h).
static Status write_sysctls(const std::map<std::string, std::string>& sysctls) {
  if (sysctls.empty()) return ok();
  Procfs proc = OCL_TRY(Procfs::open_private());
  for (const auto& [k, v] : sysctls)
    OCL_CHECK_CTX(proc.write(spec::sysctl_proc_path(k).substr(6), v), "set sysctl " + q(k));
  return ok();
}

Status finalize_rootfs_in_child(const RootfsParams& p) {
  const auto& c = *p.config;
  if (c.linux) {
    OCL_CHECK(write_sysctls(c.linux->sysctl));
    for (const auto& r : c.linux->readonly_paths) OCL_CHECK(readonly_path(r));
    UniqueFd null;
    for (const auto& m : c.linux->masked_paths) OCL_CHECK(masked_path(m, null));
  }
  for (const auto& m : c.mounts) {
    if (fs::clean_abs(m.destination) != "/dev") continue;
    auto o = parse_mount_options(m.options);
    if (o && (o->flags & MS_RDONLY) && !is_bind_mount(m, *o))
      OCL_CHECK(sys_mount("", "/dev", nullptr, MS_REMOUNT | MS_RDONLY | (o->flags & ~MS_RDONLY), o->data,
                          "remount \"/dev\" read-only"));
  }
  if (c.root && c.root->readonly)
    OCL_CHECK(sys_mount("", "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"), "",
                        "remount \"/\" read-only"));
  if (c.linux && !c.linux->rootfs_propagation.empty()) {
    auto o = parse_mount_options({c.linux->rootfs_propagation});
    if (o && o->propagation) OCL_CHECK(sys_mount("", "/", nullptr, o->propagation, "", "set rootfs propagation"));
  }
  return ok();
}

Status mount_console_in_child(int terminal_fd) {
  int fd = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno != EEXIST) return Error::last("create \"/dev/console\"");
  if (fd >= 0) ::close(fd);
  UniqueFd target(::open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!target.valid()) return Error::last("open \"/dev/console\"");
  struct stat st;
  if (::fstat(target.get(), &st) != 0) return Error::last("stat \"/dev/console\"");
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    return Error::make("\"/dev/console\" in the container is neither a file nor a device, refused");
  return bind_fd_onto(terminal_fd, target.get(), "bind the terminal on \"/dev/console\"");
}

Status unmount_under(const std::string& rootfs) {
  auto mi = fs::read_file("/proc/self/mountinfo");
  if (!mi) return std::move(mi).error();
  std::vector<std::string> targets;
  for (const auto& m : parse_mountinfo(*mi))
    if (m.mount_point == rootfs || m.mount_point.rfind(rootfs + "/", 0) == 0) targets.push_back(m.mount_point);
  std::sort(targets.begin(), targets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  Status first;
  for (const auto& t : targets)
    if (::umount2(t.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT && first.ok())
      first = Error::last("unmount " + q(t));
  return first;
}

}  // namespace ocelot::ns
