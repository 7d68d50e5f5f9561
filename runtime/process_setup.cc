#include "runtime/process_setup.h"

#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
    static const std::pair<const char*, int> pol[] = {{"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO},
                                                      {"SCHED_RR", SCHED_RR},       {"SCHED_BATCH", SCHED_BATCH},
                                                      {"SCHED_ISO", 4},             {"SCHED_IDLE", SCHED_IDLE},
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
      if (f == "SCHED_FLAG_RESET_ON_FORK") a.sched_flags |= SCHED_FLAG_RESET_ON_FORK;
      else if (f == "SCHED_FLAG_RECLAIM") a.sched_flags |= SCHED_FLAG_RECLAIM;
      else if (f == "SCHED_FLAG_DL_OVERRUN") a.sched_flags |= SCHED_FLAG_DL_OVERRUN;
      else if (f == "SCHED_FLAG_KEEP_POLICY") a.sched_flags |= SCHED_FLAG_KEEP_POLICY;
      else if (f == "SCHED_FLAG_KEEP_PARAMS") a.sched_flags |= SCHED_FLAG_KEEP_PARAMS;
      else if (f == "SCHED_FLAG_UTIL_CLAMP_MIN") a.sched_flags |= SCHED_FLAG_UTIL_CLAMP_MIN;
      else if (f == "SCHED_FLAG_UTIL_CLAMP_MAX") a.sched_flags |= SCHED_FLAG_UTIL_CLAMP_MAX;
      else return Error::make("process.scheduler.flags: unknown flag \"" + f + "\"");
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

static int last_cap() {
  static int last = -1;
  if (last >= 0) return last;
  int c = 0;
  while (::prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0) ++c;
  last = c;
  return last;
}

static std::vector<cap_value_t> cap_list(const std::vector<std::string>& names) {
  std::vector<cap_value_t> out;
  for (const auto& n : names) {
    int v = *spec::capability_number(n);
    if (v <= last_cap()) out.push_back(v);
  }
  return out;
}

Status switch_user_and_caps_in_child(const spec::Process& p, bool setgroups_allowed) {
  // No capabilities object means empty sets, and the bounding set is always cut to what the
  // config lists (runc): a config that says nothing must not inherit the runtime's capabilities.
  static const spec::Capabilities kNone;
  const auto* caps = p.capabilities ? &*p.capabilities : &kNone;
  {
    auto bounding = cap_list(caps->bounding);
    for (int c = 0; c <= last_cap(); ++c) {
      bool keep = false;
      for (auto b : bounding) keep |= (b == c);
      if (!keep && ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
        return Error::last("drop capability " + spec::all_capability_names()[static_cast<size_t>(c)] + " from the bounding set");
    }
  }
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
  cap_t c = cap_init();
  if (!c) return Error::last("cap_init");
  auto set = [&](cap_flag_t f, const std::vector<std::string>& names) {
    auto l = cap_list(names);
    if (!l.empty()) cap_set_flag(c, f, static_cast<int>(l.size()), l.data(), CAP_SET);
  };
  set(CAP_EFFECTIVE, caps->effective);
  set(CAP_PERMITTED, caps->permitted);
  set(CAP_INHERITABLE, caps->inheritable);
  int rc = cap_set_proc(c);
  int err = errno;
  cap_free(c);
  if (rc != 0) return Error::sys(err, "set capabilities");
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  // A cap can be ambient only if it is permitted and inheritable; runc warns and goes on, so do we.
  for (auto a : cap_list(caps->ambient)) ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, a, 0, 0);
  return ok();
}

Status set_no_new_privs_in_child() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::last("set no_new_privs");
  return ok();
}

}  // namespace ocelot::runtime
