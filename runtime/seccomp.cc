#include "runtime/seccomp.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <cstdlib>
#include <set>

namespace ocelot::runtime {

Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret) {
  uint16_t e = static_cast<uint16_t>(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(e);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(e);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return Error::make("unknown seccomp action \"" + name + "\"");
}

Result<scmp_compare> seccomp_op(const std::string& name) {
  static const std::map<std::string, scmp_compare> ops = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  auto it = ops.find(name);
  if (it == ops.end()) return Error::make("unknown seccomp operator \"" + name + "\"");
  return it->second;
}

std::vector<std::string> seccomp_known_actions() {
  return {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
          "SCMP_ACT_LOG",   "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
}
std::vector<std::string> seccomp_known_ops() {
  return {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
}
std::vector<std::string> seccomp_known_flags() {
  return {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
}
std::vector<std::string> seccomp_known_archs() {
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
          "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
          "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32",
          "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"};
}

Result<SeccompFilter> SeccompFilter::build(const spec::Seccomp& s) {
  SeccompFilter f;
  uint32_t def = OCL_TRY(seccomp_action(s.default_action, s.default_errno_ret));
  f.ctx_ = seccomp_init(def);
  if (!f.ctx_) return Error::make("seccomp: cannot initialise a filter");
  // We set no_new_privs ourselves, when the config asks for it.
  seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_NNP, 0);
  for (const auto& a : s.architectures) {
    std::string n = a.rfind("SCMP_ARCH_", 0) == 0 ? a.substr(10) : a;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    uint32_t arch = seccomp_arch_resolve_name(n.c_str());
    if (arch == 0) continue;  // unknown to this libseccomp: nothing to filter for it
    int rc = seccomp_arch_add(f.ctx_, arch);
    if (rc != 0 && rc != -EEXIST) return Error::sys(-rc, "seccomp: add architecture " + a);
  }
  for (const auto& fl : s.flags) {
    if (fl == "SECCOMP_FILTER_FLAG_TSYNC") continue;  // single-threaded at load time
    if (fl == "SECCOMP_FILTER_FLAG_LOG") seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_LOG, 1);
    else if (fl == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_SSB, 1);
    else return Error::make("linux.seccomp.flags: unsupported flag \"" + fl + "\"");
  }
  int max_named = -1;
  std::set<int> named;
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const auto& sc = s.syscalls[i];
    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr >= 0) {
        named.insert(nr);
        max_named = std::max(max_named, nr);
      }
    }
    uint32_t act = OCL_TRY(seccomp_action(sc.action, sc.errno_ret ? sc.errno_ret : s.default_errno_ret));
    if (sc.action == "SCMP_ACT_NOTIFY") f.notify_ = true;
    if (act == def) continue;  // libseccomp refuses rules that repeat the default
    std::vector<scmp_arg_cmp> cmps;
    std::set<uint32_t> idx;
    bool dup = false;
    for (const auto& a : sc.args) {
      scmp_compare op = OCL_TRY(seccomp_op(a.op));
      cmps.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
      dup |= !idx.insert(a.index).second;
    }
    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        f.skipped.push_back(name);
        continue;
      }
      auto add = [&](unsigned n, const scmp_arg_cmp* c) -> Status {
        int rc = seccomp_rule_add_array(f.ctx_, act, nr, n, c);
        if (rc != 0) return Error::sys(-rc, "seccomp: add rule for \"" + name + "\"");
        return ok();
      };
      // Two conditions on one argument cannot share a rule: libseccomp ANDs a rule's conditions
      // per argument once, so runc adds one rule per condition in that case, and so do we.
      if (dup) {
        for (const auto& c : cmps) OCL_CHECK(add(1, &c));
      } else {
        OCL_CHECK(add(static_cast<unsigned>(cmps.size()), cmps.data()));
      }
    }
  }
  // Syscalls newer than everything the profile names must fail with ENOSYS, not the default
  // errno, so that libc falls back (glibc's clone3 -> clone, moby#42680): the profile cannot
  // have meant to deny a syscall its author did not know of.
  bool denies = s.default_action != "SCMP_ACT_ALLOW" && s.default_action != "SCMP_ACT_LOG";
  if (denies && max_named >= 0 && def != SCMP_ACT_ERRNO(ENOSYS)) {
    for (int nr = max_named + 1; nr < 1024; ++nr) {
      char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
      if (!name) continue;
      free(name);
      if (named.count(nr)) continue;
      int rc = seccomp_rule_add(f.ctx_, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
      if (rc != 0 && rc != -EEXIST) return Error::sys(-rc, "seccomp: add ENOSYS rule for syscall " + std::to_string(nr));
    }
  }
  return f;
}

Result<int> SeccompFilter::load_in_child() const {
  int rc = seccomp_load(ctx_);
  if (rc != 0) return Error::sys(-rc, "load seccomp filter");
  if (!notify_) return -1;
  int fd = seccomp_notify_fd(ctx_);
  if (fd < 0) return Error::sys(-fd, "get seccomp notify fd");
  return fd;
}

}  // namespace ocelot::runtime
