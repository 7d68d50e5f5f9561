#include "spec/validate.h"

#include <cctype>
#include <set>

#include "spec/json_read.h"
#include "spec/names.h"

namespace ocelot::spec {

using jr::index_path;
using jr::key_path;

static Status need_abs(const std::string& path, const std::string& value) {
  if (value.empty() || value[0] != '/') return Error::make(path + ": must be an absolute path, got " + quote(value));
  return ok();
}

// runc's range for user and group ids: a uid_t of -1 (4294967295) means "leave unchanged" to
// setresuid(2) and fchownat(2), so the process would keep root; anything above 2^31-1 is refused.
constexpr uint64_t kMaxId = 2147483647;

static Status need_id(const std::string& path, uint64_t v) {
  if (v > kMaxId)
    return Error::make(path + ": must be between 0 and " + std::to_string(kMaxId) + ", got " + std::to_string(v));
  return ok();
}

// An id mapping range [id, id+size) must be non-empty and stay below 2^32-1, the kernel's invalid id.
static Status need_map(const std::string& path, uint64_t container_id, uint64_t host_id, uint64_t size) {
  if (size == 0) return Error::make(path + ".size: must be at least 1");
  constexpr uint64_t kLimit = 4294967295ULL;
  if (container_id + size > kLimit) return Error::make(path + ": containerID + size must not exceed 4294967295");
  if (host_id + size > kLimit) return Error::make(path + ": hostID + size must not exceed 4294967295");
  return ok();
}

static Status check_caps(const std::vector<std::string>& caps, const std::string& path) {
  for (size_t i = 0; i < caps.size(); ++i)
    if (!capability_number(caps[i])) return Error::make(index_path(path, i) + ": unknown capability " + quote(caps[i]));
  return ok();
}

Status validate_process(const Process& p, const std::string& path) {
  if (p.args.empty()) return Error::make(key_path(path, "args") + ": must not be empty");
  if (p.args[0].empty()) return Error::make(key_path(path, "args") + "[0]: must not be empty");
  OCL_CHECK(need_id(key_path(path, "user.uid"), p.user.uid));
  OCL_CHECK(need_id(key_path(path, "user.gid"), p.user.gid));
  for (size_t i = 0; i < p.user.additional_gids.size(); ++i)
    OCL_CHECK(need_id(index_path(key_path(path, "user.additionalGids"), i), p.user.additional_gids[i]));
  if (p.user.umask && *p.user.umask > 0777)
    return Error::make(key_path(path, "user.umask") + ": must be between 0 and 0777, got " +
                       std::to_string(*p.user.umask));
  if (p.console_size && (p.console_size->height > 65535 || p.console_size->width > 65535))
    return Error::make(key_path(path, "consoleSize") + ": height and width must be at most 65535");
  OCL_CHECK(need_abs(key_path(path, "cwd"), p.cwd));
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos)
      return Error::make(index_path(key_path(path, "env"), i) + ": expected \"KEY=value\", got " + quote(p.env[i]));
  if (p.capabilities) {
    auto cp = key_path(path, "capabilities");
    OCL_CHECK(check_caps(p.capabilities->bounding, key_path(cp, "bounding")));
    OCL_CHECK(check_caps(p.capabilities->effective, key_path(cp, "effective")));
    OCL_CHECK(check_caps(p.capabilities->inheritable, key_path(cp, "inheritable")));
    OCL_CHECK(check_caps(p.capabilities->permitted, key_path(cp, "permitted")));
    OCL_CHECK(check_caps(p.capabilities->ambient, key_path(cp, "ambient")));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    auto rp = index_path(key_path(path, "rlimits"), i);
    const auto& r = p.rlimits[i];
    if (!rlimit_number(r.type)) return Error::make(rp + ".type: unknown rlimit " + quote(r.type));
    if (!seen.insert(r.type).second) return Error::make(rp + ".type: duplicate rlimit " + quote(r.type));
    if (r.soft > r.hard)
      return Error::make(rp + ": soft limit " + std::to_string(r.soft) + " exceeds hard limit " +
                         std::to_string(r.hard));
  }
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return Error::make(key_path(path, "oomScoreAdj") + ": must be between -1000 and 1000, got " +
                       std::to_string(*p.oom_score_adj));
  if (p.scheduler) {
    static const std::set<std::string> pol = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",      "SCHED_BATCH",
                                              "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE"};
    if (!pol.count(p.scheduler->policy))
      return Error::make(key_path(path, "scheduler.policy") + ": unknown policy " + quote(p.scheduler->policy));
  }
  if (p.io_priority) {
    static const std::set<std::string> cls = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
    if (!cls.count(p.io_priority->io_class))
      return Error::make(key_path(path, "ioPriority.class") + ": unknown class " + quote(p.io_priority->io_class));
    if (p.io_priority->priority < 0 || p.io_priority->priority > 7)
      return Error::make(key_path(path, "ioPriority.priority") + ": must be between 0 and 7, got " +
                         std::to_string(p.io_priority->priority));
  }
  if (p.console_size && !p.terminal)
    return Error::make(key_path(path, "consoleSize") + ": set without process.terminal");
  return ok();
}

Status validate_seccomp(const Seccomp& s, const std::string& path) {
  static const std::set<std::string> actions = {"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                                "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
                                                "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};
  static const std::set<std::string> ops = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                                            "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  if (!actions.count(s.default_action))
    return Error::make(key_path(path, "defaultAction") + ": unknown action " + quote(s.default_action));
  // SECCOMP_RET_DATA holds 16 bits: 65536 would wrap to 0, which makes the syscall "succeed"
  // without running; the kernel caps anything above MAX_ERRNO anyway.
  auto errno_ok = [](const std::optional<uint32_t>& e) { return !e || *e <= 4095; };
  if (!errno_ok(s.default_errno_ret))
    return Error::make(key_path(path, "defaultErrnoRet") + ": must be between 0 and 4095, got " +
                       std::to_string(*s.default_errno_ret));
  if (s.default_action == "SCMP_ACT_NOTIFY")
    return Error::make(key_path(path, "defaultAction") + ": SCMP_ACT_NOTIFY cannot be the default action");
  bool notify = false;
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    auto sp = index_path(key_path(path, "syscalls"), i);
    const auto& sc = s.syscalls[i];
    if (!actions.count(sc.action)) return Error::make(sp + ".action: unknown action " + quote(sc.action));
    if (!errno_ok(sc.errno_ret))
      return Error::make(sp + ".errnoRet: must be between 0 and 4095, got " + std::to_string(*sc.errno_ret));
    if (sc.action == "SCMP_ACT_NOTIFY") notify = true;
    if (sc.names.empty()) return Error::make(sp + ".names: must not be empty");
    for (size_t a = 0; a < sc.args.size(); ++a) {
      auto ap = index_path(sp + ".args", a);
      if (!ops.count(sc.args[a].op)) return Error::make(ap + ".op: unknown operator " + quote(sc.args[a].op));
      if (sc.args[a].index > 5) return Error::make(ap + ".index: must be between 0 and 5");
    }
  }
  if (notify && s.listener_path.empty())
    return Error::make(key_path(path, "listenerPath") + ": required when an action is SCMP_ACT_NOTIFY");
  return ok();
}

static std::string fs_clean(const std::string& p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i)
    if (!(p[i] == '/' && (out.empty() ? false : out.back() == '/'))) out += p[i];
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

Result<std::string> sysctl_namespace(const std::string& key) {
  // Keys are dotted ("net.ipv4.ip_forward") or, as runc also accepts, slashed (then a dot is part
  // of a name: "net/ipv4/conf/eth0.100/forwarding"). Either way every component must be a plain
  // name, so the key cannot walk out of /proc/sys.
  if (key.empty()) return Error::make("empty sysctl name");
  char sep = key.find('/') != std::string::npos ? '/' : '.';
  size_t i = 0;
  while (i <= key.size()) {
    size_t j = key.find(sep, i);
    if (j == std::string::npos) j = key.size();
    std::string part = key.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") return Error::make("malformed sysctl name");
    for (unsigned char ch : part)
      if (!(std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.' || ch == '@' || ch == ':'))
        return Error::make("malformed sysctl name");
    i = j + 1;
  }
  std::string dotted = key;
  if (sep == '/')
    for (auto& ch : dotted) ch = ch == '/' ? '.' : ch;
  // runc's table (libcontainer/configs/validate): what the ipc, net and uts namespaces own.
  static const std::set<std::string> ipc = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                            "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                            "kernel.shmmni", "kernel.shm_rmid_forced"};
  if (ipc.count(dotted) || dotted.rfind("fs.mqueue.", 0) == 0) return std::string("ipc");
  if (dotted.rfind("net.", 0) == 0) return std::string("network");
  if (dotted == "kernel.hostname" || dotted == "kernel.domainname") return std::string("uts");
  return std::string();
}

std::string sysctl_proc_path(const std::string& key) {
  std::string rel = key;
  if (key.find('/') == std::string::npos)
    for (auto& ch : rel) ch = ch == '.' ? '/' : ch;
  return "/proc/sys/" + rel;
}

static Status validate_linux(const Config& c, const Linux& l) {
  std::set<std::string> types;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    auto np = index_path("linux.namespaces", i);
    const auto& n = l.namespaces[i];
    if (!namespace_flag(n.type)) return Error::make(np + ".type: unknown namespace type " + quote(n.type));
    if (!types.insert(n.type).second) return Error::make(np + ".type: duplicate namespace type " + quote(n.type));
    if (!n.path.empty()) OCL_CHECK(need_abs(np + ".path", n.path));
  }
  const Namespace* user = l.find_namespace("user");
  bool has_maps = !l.uid_mappings.empty() || !l.gid_mappings.empty();
  if (has_maps && !user) return Error::make("linux.uidMappings: set without a user namespace in linux.namespaces");
  for (size_t i = 0; i < l.uid_mappings.size(); ++i) {
    const auto& m = l.uid_mappings[i];
    OCL_CHECK(need_map(index_path("linux.uidMappings", i), m.container_id, m.host_id, m.size));
  }
  for (size_t i = 0; i < l.gid_mappings.size(); ++i) {
    const auto& m = l.gid_mappings[i];
    OCL_CHECK(need_map(index_path("linux.gidMappings", i), m.container_id, m.host_id, m.size));
  }
  if (user && user->path.empty() && (l.uid_mappings.empty() || l.gid_mappings.empty()))
    return Error::make("linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings");
  if (!l.time_offsets_secs.empty()) {
    if (!l.find_namespace("time")) return Error::make("linux.timeOffsets: set without a time namespace");
    for (auto& [k, v] : l.time_offsets_secs)
      if (k != "monotonic" && k != "boottime")
        return Error::make("linux.timeOffsets." + k + ": unknown clock, expected \"monotonic\" or \"boottime\"");
  }
  for (size_t i = 0; i < l.devices.size(); ++i) {
    auto dp = index_path("linux.devices", i);
    const auto& d = l.devices[i];
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
      return Error::make(dp + ".type: unknown device type " + quote(d.type) + ", expected c, b, u or p");
    OCL_CHECK(need_abs(dp + ".path", d.path));
    if (fs_clean(d.path) == "/") return Error::make(dp + ".path: must name a file, got " + quote(d.path));
    if (d.major < 0 || d.major > 4294967295LL || d.minor < 0 || d.minor > 4294967295LL)
      return Error::make(dp + ": major and minor must be between 0 and 4294967295");
    if (d.file_mode && *d.file_mode > 07777) {
      // podman writes the file type too (0o20666 for a character device), as Go's os.FileMode
      // of a device node: allowed when it names this device's type (runc accepts it).
      uint64_t type = *d.file_mode & ~uint64_t{07777};
      uint64_t want = d.type == "b" ? 0060000 : d.type == "p" ? 0010000 : 0020000;
      if (type != want)
        return Error::make(dp + ".fileMode: the file type bits (" + std::to_string(type) +
                           ") do not match device type " + quote(d.type) + ", got " + std::to_string(*d.file_mode));
    }
    if (d.uid) OCL_CHECK(need_id(dp + ".uid", *d.uid));
    if (d.gid) OCL_CHECK(need_id(dp + ".gid", *d.gid));
  }
  if (l.resources) {
    for (size_t i = 0; i < l.resources->devices.size(); ++i) {
      auto dp = index_path("linux.resources.devices", i);
      const auto& d = l.resources->devices[i];
      if (!d.type.empty() && d.type != "a" && d.type != "c" && d.type != "b")
        return Error::make(dp + ".type: unknown device type " + quote(d.type) + ", expected a, c or b");
      for (char ch : d.access)
        if (ch != 'r' && ch != 'w' && ch != 'm')
          return Error::make(dp + ".access: expected letters of \"rwm\", got " + quote(d.access));
      if ((d.major && (*d.major < 0 || *d.major > 4294967295LL)) ||
          (d.minor && (*d.minor < 0 || *d.minor > 4294967295LL)))
        return Error::make(dp + ": major and minor must be between 0 and 4294967295 (leave them out for \"all\")");
    }
  }
  static const std::set<std::string> props = {"",        "shared", "slave",    "private",    "unbindable",
                                              "rshared", "rslave", "rprivate", "runbindable"};
  if (!props.count(l.rootfs_propagation))
    return Error::make("linux.rootfsPropagation: unknown propagation " + quote(l.rootfs_propagation));
  for (auto& [k, v] : l.sysctl) {
    auto kind = sysctl_namespace(k);
    if (!kind) return std::move(kind).error().wrap("linux.sysctl." + k);
    if (kind->empty())
      return Error::make("linux.sysctl." + k + ": not a namespaced sysctl: writing it would change the host");
    if (!l.find_namespace(*kind)) return Error::make("linux.sysctl." + k + ": needs a " + *kind + " namespace");
  }
  for (size_t i = 0; i < l.masked_paths.size(); ++i)
    OCL_CHECK(need_abs(index_path("linux.maskedPaths", i), l.masked_paths[i]));
  for (size_t i = 0; i < l.readonly_paths.size(); ++i)
    OCL_CHECK(need_abs(index_path("linux.readonlyPaths", i), l.readonly_paths[i]));
  if (l.seccomp) OCL_CHECK(validate_seccomp(*l.seccomp, "linux.seccomp"));
  if (l.personality && l.personality->domain != "LINUX" && l.personality->domain != "LINUX32")
    return Error::make("linux.personality.domain: unknown domain " + quote(l.personality->domain) +
                       ", expected \"LINUX\" or \"LINUX32\"");
  if (!c.hostname.empty() && !l.find_namespace("uts")) return Error::make("hostname: set without a uts namespace");
  if (!c.domainname.empty() && !l.find_namespace("uts")) return Error::make("domainname: set without a uts namespace");
  return ok();
}

Status validate(const Config& c) {
  if (c.oci_version.empty()) return Error::make("ociVersion: must not be empty");
  if (c.oci_version.rfind("1.", 0) != 0)
    return Error::make("ociVersion: unsupported version " + quote(c.oci_version) + ", expected 1.x");
  if (!c.root) return Error::make("root: missing required field");
  if (c.root->path.empty()) return Error::make("root.path: must not be empty");
  if (c.process) OCL_CHECK(validate_process(*c.process, "process"));
  for (size_t i = 0; i < c.mounts.size(); ++i)
    if (c.mounts[i].destination.empty())
      return Error::make(index_path("mounts", i) + ".destination: must not be empty");
  auto hooks = [&](const std::vector<Hook>& hs, const char* name) -> Status {
    for (size_t i = 0; i < hs.size(); ++i) {
      OCL_CHECK(need_abs(index_path(std::string("hooks.") + name, i) + ".path", hs[i].path));
      if (hs[i].timeout && *hs[i].timeout <= 0)
        return Error::make(index_path(std::string("hooks.") + name, i) + ".timeout: must be positive, got " +
                           std::to_string(*hs[i].timeout));
    }
    return ok();
  };
  OCL_CHECK(hooks(c.hooks.prestart, "prestart"));
  OCL_CHECK(hooks(c.hooks.create_runtime, "createRuntime"));
  OCL_CHECK(hooks(c.hooks.create_container, "createContainer"));
  OCL_CHECK(hooks(c.hooks.start_container, "startContainer"));
  OCL_CHECK(hooks(c.hooks.poststart, "poststart"));
  OCL_CHECK(hooks(c.hooks.poststop, "poststop"));
  if (c.linux)
    OCL_CHECK(validate_linux(c, *c.linux));
  else if (!c.hostname.empty())
    return Error::make("hostname: set without a uts namespace");
  return ok();
}

}  // namespace ocelot::spec
