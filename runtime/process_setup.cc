#include "runtime/process_setup.h"
#include "base/strings.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>

#include "spec/names.h"

namespace ocelot::runtime {

namespace {
// linux/sched/types.h clashes with glibc's sched_param; this is its sched_attr (SCHED_ATTR_SIZE_VER1).
struct sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};
}  // namespace

Result<std::string> find_executable_in_child(const std::string& arg0, const std::vector<std::string>& env) {
  auto check = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (arg0.find('/') != std::string::npos) {
    if (check(arg0)) return arg0;
    struct stat st;
    int err = ::stat(arg0.c_str(), &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? EISDIR : EACCES);
    return Error::sys(err, "exec: \"" + arg0 + "\"");
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    i = j + 1;
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + arg0;
    if (check(cand)) return cand;
  }
  return Error::make("exec: \"" + arg0 + "\": executable file not found in $PATH");
}

Status apply_rlimits_in_child(const std::vector<spec::Rlimit>& rlimits) {
  for (const auto& r : rlimits) {
    int res = *spec::rlimit_number(r.type);
    struct rlimit rl = {r.soft, r.hard};
    if (::setrlimit(res, &rl) != 0) return Error::last("set rlimit " + r.type);
  }
  return ok();
}

Status apply_sched_in_child(const spec::Process& p) {
  if (p.scheduler) {
    const auto& s = *p.scheduler;
    static const std::pair<const char*, int> pol[] = {
        {"SCHED_OTHER", SCHED_OTHER},      {"SCHED_FIFO", SCHED_FIFO}, {"SCHED_RR", SCHED_RR},
        {"SCHED_BATCH", SCHED_BATCH},      {"SCHED_ISO", 4},           {"SCHED_IDLE", SCHED_IDLE},
        {"SCHED_DEADLINE", SCHED_DEADLINE}};
    struct sched_attr a = {};
    a.size = sizeof a;
    for (auto& [n, v] : pol)
      if (s.policy == n) a.sched_policy = static_cast<uint32_t>(v);
    a.sched_nice = s.nice.value_or(0);
    a.sched_priority = static_cast<uint32_t>(s.priority.value_or(0));
    a.sched_runtime = s.runtime.value_or(0);
    a.sched_deadline = s.deadline.value_or(0);
    a.sched_period = s.period.value_or(0);
    for (const auto& f : s.flags) {
      if (f == "SCHED_FLAG_RESET_ON_FORK")
        a.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
      else if (f == "SCHED_FLAG_RECLAIM")
        a.sched_flags |= SCHED_FLAG_RECLAIM;
      else if (f == "SCHED_FLAG_DL_OVERRUN")
        a.sched_flags |= SCHED_FLAG_DL_OVERRUN;
      else if (f == "SCHED_FLAG_KEEP_POLICY")
        a.sched_flags |= SCHED_FLAG_KEEP_POLICY;
      else if (f == "SCHED_FLAG_KEEP_PARAMS")
        a.sched_flags |= SCHED_FLAG_KEEP_PARAMS;
      else if (f == "SCHED_FLAG_UTIL_CLAMP_MIN")
        a.sched_flags |= SCHED_FLAG_UTIL_CLAMP_MIN;
      else if (f == "SCHED_FLAG_UTIL_CLAMP_MAX")
        a.sched_flags |= SCHED_FLAG_UTIL_CLAMP_MAX;
      else
        return Error::make("process.scheduler.flags: unknown flag \"" + f + "\"");
    }
    if (::syscall(SYS_sched_setattr, 0, &a, 0) != 0) return Error::last("set scheduler " + s.policy);
  }
  if (p.io_priority) {
    int cls = p.io_priority->io_class == "IOPRIO_CLASS_RT" ? 1 : p.io_priority->io_class == "IOPRIO_CLASS_BE" ? 2 : 3;
    int prio = (cls << 13) | p.io_priority->priority;
    if (::syscall(SYS_ioprio_set, 1 /*IOPRIO_WHO_PROCESS*/, 0, prio) != 0)
      return Error::last("set I/O priority " + p.io_priority->io_class);
  }
  return ok();
}

Status apply_personality_in_child(const spec::Personality& p) {
  unsigned long persona = p.domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
  if (::personality(persona) < 0) return Error::last("set personality " + p.domain);
  return ok();
}

Status enter_cwd_in_child(const std::string& cwd) {
  if (::chdir(cwd.c_str()) != 0) return Error::last("chdir to cwd \"" + cwd + "\"");
  // getcwd fails (ENOENT, "(unreachable)") when the directory lies outside our root.
  char buf[PATH_MAX];
  if (::syscall(SYS_getcwd, buf, sizeof buf) < 0 || buf[0] != '/')
    return Error::sys(errno ? errno : ENOENT, "cwd \"" + cwd + "\" is outside the container root");
  return ok();
}

Status make_cwd_in_child(const std::string& cwd) {
  // After pivot_root: "/" is the container's, so a symlink in cwd stays inside it.
  std::string cur;
  size_t i = 1;
  while (i <= cwd.size()) {
    size_t j = cwd.find('/', i);
    if (j == std::string::npos) j = cwd.size();
    std::string part = cwd.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    cur += "/" + part;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::last("create cwd \"" + cwd + "\"");
  }
  return ok();
}

std::string home_for(uid_t uid, const std::string& passwd_text) {
  // name:password:uid:gid:gecos:home:shell, one entry a line.
  size_t i = 0;
  while (i < passwd_text.size()) {
    size_t end = passwd_text.find('\n', i);
    if (end == std::string::npos) end = passwd_text.size();
    std::string line = passwd_text.substr(i, end - i);
    i = end + 1;
    std::vector<std::string> f = split(line, ':');
    if (f.size() < 7 || f[2].empty() || f[2].find_first_not_of("0123456789") != std::string::npos) continue;
    if (f[2].size() > 10 || std::stoull(f[2]) != uid) continue;
    return f[5].empty() ? "/" : f[5];
  }
  return "/";
}

std::string read_container_file_in_child(const char* path, size_t limit) {
  int fd = ::open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st;
  std::string out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= limit) {
    char buf[4096];
    for (ssize_t n; out.size() <= limit && (n = ::read(fd, buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) out.clear();
  }
  ::close(fd);
  return out;
}

std::vector<std::string> with_home_in_child(std::vector<std::string> env, uid_t uid) {
  for (const auto& e : env)
    if (e.rfind("HOME=", 0) == 0) return env;
  env.push_back("HOME=" + home_for(uid, read_container_file_in_child("/etc/passwd", 16 << 20)));
  return env;
}

void hand_stdio_to_user_in_child(uid_t uid) {
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0 || st.st_uid == uid) continue;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) continue;
    // EINVAL: its gid is not mapped here; EPERM: its owner is not; EROFS: a read-only /dev.
    // runc leaves those alone too.
    (void)::fchown(fd, uid, static_cast<gid_t>(-1));
  }
}

void reopen_dev_null_stdio_in_child() {
  struct stat own;
  bool opened = false;
  int null_fd = -1;
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) continue;
    if (!opened) {
      opened = true;
      // O_NOFOLLOW and the check below: an image's /dev/null that is anything else is not used.
      null_fd = ::open("/dev/null", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
      if (null_fd >= 0 && (::fstat(null_fd, &own) != 0 || !S_ISCHR(own.st_mode) || own.st_rdev != makedev(1, 3))) {
        ::close(null_fd);
        null_fd = -1;
      }
    }
    if (null_fd < 0) return;
    if (st.st_dev == own.st_dev && st.st_ino == own.st_ino) continue;  // already the container's
    (void)::dup3(null_fd, fd, 0);
  }
  if (null_fd >= 0) ::close(null_fd);
}

static int last_cap() {
  static int last = -1;
  if (last >= 0) return last;
  // The highest capability the kernel knows: PR_CAPBSET_READ fails (EINVAL) above it. A binary
  // search: six prctl calls instead of forty on every start.
  int lo = 0, hi = 63;  // lo is known, hi+1 is not
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (::prctl(PR_CAPBSET_READ, mid, 0, 0, 0) >= 0)
      lo = mid;
    else
      hi = mid - 1;
  }
  last = lo;
  return last;
}

static uint64_t mask_of(const std::vector<std::string>& names) {
  uint64_t m = 0;
  for (const auto& n : names)
    if (auto v = spec::capability_number(n)) m |= cap_bit(*v);
  return m;
}

CapSets cap_sets(const spec::Process& p) {
  CapSets c;
  if (!p.capabilities) return c;
  c.bounding = mask_of(p.capabilities->bounding);
  c.effective = mask_of(p.capabilities->effective);
  c.permitted = mask_of(p.capabilities->permitted);
  c.inheritable = mask_of(p.capabilities->inheritable);
  c.ambient = mask_of(p.capabilities->ambient);
  return c;
}

uint64_t seccomp_temp_caps(const spec::Process& p, const CapSets& c) {
  if (p.no_new_privileges) return 0;
  const uint64_t sys_admin = cap_bit(CAP_SYS_ADMIN), setpcap = cap_bit(CAP_SETPCAP);
  // What survives the init's execve of the stub (capabilities(7), "Transformation of capabilities
  // during execve()"): uid 0 gets bounding | inheritable; any other uid only its ambient set.
  uint64_t kept = p.user.uid == 0 ? (c.bounding | c.inheritable) : c.ambient;
  if (kept & sys_admin) return 0;
  uint64_t temp = sys_admin;
  // Dropping CAP_SYS_ADMIN from the bounding set again needs CAP_SETPCAP.
  if (!(c.bounding & sys_admin) && !(kept & setpcap)) temp |= setpcap;
  return temp;
}

Status switch_user_and_caps_in_child(const spec::Process& p, const CapSets& c, uint64_t temp, bool setgroups_allowed) {
  uint64_t all = last_cap() >= 63 ? ~uint64_t{0} : (cap_bit(last_cap() + 1) - 1);
  bool root = p.user.uid == 0;
  uint64_t bounding = (c.bounding | temp) & all;
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if ((bounding & cap_bit(cap)) || cap == CAP_SETPCAP) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return Error::last("drop capability " + spec::all_capability_names()[static_cast<size_t>(cap)] +
                         " from the bounding set");
  }
  // CAP_SETPCAP last: it is what allows dropping the others.
  if (!(bounding & cap_bit(CAP_SETPCAP)) && ::prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) != 0 && errno != EINVAL)
    return Error::last("drop capability CAP_SETPCAP from the bounding set");
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return Error::last("set keepcaps");
  const auto& u = p.user;
  if (setgroups_allowed) {
    std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) != 0) return Error::last("setgroups");
  } else if (!u.additional_gids.empty()) {
    return Error::make("process.user.additionalGids: cannot set groups: setgroups is denied in this user namespace");
  }
  // Raw syscalls: glibc's setresuid broadcasts to threads, and we have exactly one.
  if (::syscall(SYS_setresgid, u.gid, u.gid, u.gid) != 0) return Error::last("setgid " + std::to_string(u.gid));
  if (::syscall(SYS_setresuid, u.uid, u.uid, u.uid) != 0) return Error::last("setuid " + std::to_string(u.uid));
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return Error::last("clear keepcaps");
  // A non-root stub keeps only ambient capabilities across its execve, and a capability can be
  // ambient only while permitted and inheritable: the temporary ones go into all three.
  uint64_t extra_inh = root ? 0 : temp;
  uint64_t eff = (c.effective | temp) & all, perm = (c.permitted | temp) & all;
  uint64_t inh = (c.inheritable | extra_inh) & all;
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {};
  for (int i = 0; i < 2; ++i) {
    d[i].effective = static_cast<uint32_t>(eff >> (32 * i));
    d[i].permitted = static_cast<uint32_t>(perm >> (32 * i));
    d[i].inheritable = static_cast<uint32_t>(inh >> (32 * i));
  }
  if (::syscall(SYS_capset, &h, d) != 0) return Error::last("set capabilities");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return Error::last("clear ambient capabilities");
  uint64_t amb = (c.ambient | extra_inh) & all;
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (!(amb & cap_bit(cap))) continue;
    // Only a permitted and inheritable capability can be ambient; runc warns and goes on.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && (temp & cap_bit(cap)))
      return Error::last("raise capability " + spec::all_capability_names()[static_cast<size_t>(cap)] +
                         " for loading the seccomp filter");
  }
  return ok();
}

Status set_no_new_privs_in_child() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::last("set no_new_privs");
  return ok();
}

}  // namespace ocelot::runtime
