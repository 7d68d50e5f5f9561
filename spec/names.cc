#include "spec/names.h"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

namespace ocelot::spec {

// Index == capability number, from linux/capability.h (CAP_LAST_CAP is 40 on 5.9+ kernels).
static const std::vector<std::string> kCaps = {"CAP_CHOWN",
                                               "CAP_DAC_OVERRIDE",
                                               "CAP_DAC_READ_SEARCH",
                                               "CAP_FOWNER",
                                               "CAP_FSETID",
                                               "CAP_KILL",
                                               "CAP_SETGID",
                                               "CAP_SETUID",
                                               "CAP_SETPCAP",
                                               "CAP_LINUX_IMMUTABLE",
                                               "CAP_NET_BIND_SERVICE",
                                               "CAP_NET_BROADCAST",
                                               "CAP_NET_ADMIN",
                                               "CAP_NET_RAW",
                                               "CAP_IPC_LOCK",
                                               "CAP_IPC_OWNER",
                                               "CAP_SYS_MODULE",
                                               "CAP_SYS_RAWIO",
                                               "CAP_SYS_CHROOT",
                                               "CAP_SYS_PTRACE",
                                               "CAP_SYS_PACCT",
                                               "CAP_SYS_ADMIN",
                                               "CAP_SYS_BOOT",
                                               "CAP_SYS_NICE",
                                               "CAP_SYS_RESOURCE",
                                               "CAP_SYS_TIME",
                                               "CAP_SYS_TTY_CONFIG",
                                               "CAP_MKNOD",
                                               "CAP_LEASE",
                                               "CAP_AUDIT_WRITE",
                                               "CAP_AUDIT_CONTROL",
                                               "CAP_SETFCAP",
                                               "CAP_MAC_OVERRIDE",
                                               "CAP_MAC_ADMIN",
                                               "CAP_SYSLOG",
                                               "CAP_WAKE_ALARM",
                                               "CAP_BLOCK_SUSPEND",
                                               "CAP_AUDIT_READ",
                                               "CAP_PERFMON",
                                               "CAP_BPF",
                                               "CAP_CHECKPOINT_RESTORE"};

std::optional<int> capability_number(std::string_view name) {
  for (size_t i = 0; i < kCaps.size(); ++i)
    if (kCaps[i] == name) return static_cast<int>(i);
  return std::nullopt;
}

const std::vector<std::string>& all_capability_names() { return kCaps; }

static const std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},       {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK}};

std::optional<int> rlimit_number(std::string_view name) {
  for (auto& [n, v] : kRlimits)
    if (name == n) return v;
  return std::nullopt;
}

static const std::pair<const char*, int> kSignals[] = {
    {"SIGHUP", SIGHUP},       {"SIGINT", SIGINT},     {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},
    {"SIGTRAP", SIGTRAP},     {"SIGABRT", SIGABRT},   {"SIGIOT", SIGIOT},   {"SIGBUS", SIGBUS},
    {"SIGFPE", SIGFPE},       {"SIGKILL", SIGKILL},   {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV},
    {"SIGUSR2", SIGUSR2},     {"SIGPIPE", SIGPIPE},   {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM},
    {"SIGSTKFLT", SIGSTKFLT}, {"SIGCHLD", SIGCHLD},   {"SIGCLD", SIGCHLD},  {"SIGCONT", SIGCONT},
    {"SIGSTOP", SIGSTOP},     {"SIGTSTP", SIGTSTP},   {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},
    {"SIGURG", SIGURG},       {"SIGXCPU", SIGXCPU},   {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM},
    {"SIGPROF", SIGPROF},     {"SIGWINCH", SIGWINCH}, {"SIGIO", SIGIO},     {"SIGPOLL", SIGPOLL},
    {"SIGPWR", SIGPWR},       {"SIGSYS", SIGSYS}};

static std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<int> parse_signal(std::string_view text) {
  auto bad = [&] { return Error::make("unknown signal \"" + std::string(text) + "\""); };
  if (text.empty()) return bad();
  if (auto n = parse_int(text)) {
    if (*n <= 0 || *n > SIGRTMAX) return bad();
    return *n;
  }
  std::string up(text);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up.rfind("SIG", 0) != 0) up = "SIG" + up;
  for (auto& [n, v] : kSignals)
    if (up == n) return v;
  // SIGRTMIN, SIGRTMIN+N, SIGRTMAX, SIGRTMAX-N
  struct Rt {
    int base;
    const char* name;
    int sign;
  };
  const Rt rts[] = {{SIGRTMIN, "SIGRTMIN", 1}, {SIGRTMAX, "SIGRTMAX", -1}};
  for (const auto& rt : rts) {
    std::string_view u(up);
    if (u.rfind(rt.name, 0) != 0) continue;
    u.remove_prefix(std::string_view(rt.name).size());
    if (u.empty()) return rt.base;
    if (u[0] != (rt.sign > 0 ? '+' : '-')) return bad();
    auto off = parse_int(u.substr(1));
    if (!off || *off < 0) return bad();
    int sig = rt.base + rt.sign * *off;
    if (sig < SIGRTMIN || sig > SIGRTMAX) return bad();
    return sig;
  }
  return bad();
}

std::string signal_name(int sig) {
  for (auto& [n, v] : kSignals)
    if (v == sig) return n;
  return std::to_string(sig);
}

static const std::pair<const char*, int> kNamespaces[] = {
    {"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},      {"ipc", CLONE_NEWIPC},
    {"uts", CLONE_NEWUTS}, {"user", CLONE_NEWUSER},   {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};

std::optional<int> namespace_flag(std::string_view type) {
  for (auto& [n, v] : kNamespaces)
    if (type == n) return v;
  return std::nullopt;
}

std::string namespace_proc_name(std::string_view type) {
  if (type == "network") return "net";
  if (type == "mount") return "mnt";
  return std::string(type);
}

const std::vector<std::string>& all_namespace_types() {
  static const std::vector<std::string> v = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
  return v;
}

}  // namespace ocelot::spec
