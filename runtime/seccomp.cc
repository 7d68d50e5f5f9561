#include "runtime/seccomp.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>

#include "base/fs.h"
#include "base/unique_fd.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
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
  static const std::map<std::string, scmp_compare> ops = {{"SCMP_CMP_NE", SCMP_CMP_NE},
                                                          {"SCMP_CMP_LT", SCMP_CMP_LT},
                                                          {"SCMP_CMP_LE", SCMP_CMP_LE},
                                                          {"SCMP_CMP_EQ", SCMP_CMP_EQ},
                                                          {"SCMP_CMP_GE", SCMP_CMP_GE},
                                                          {"SCMP_CMP_GT", SCMP_CMP_GT},
                                                          {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  auto it = ops.find(name);
  if (it == ops.end()) return Error::make("unknown seccomp operator \"" + name + "\"");
  return it->second;
}

std::vector<std::string> seccomp_known_actions() {
  return {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO",  "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
          "SCMP_ACT_LOG",   "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
}
std::vector<std::string> seccomp_known_ops() {
  return {"SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
          "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
}
std::vector<std::string> seccomp_known_flags() {
  return {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
          "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
}
std::vector<std::string> seccomp_known_archs() {
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",      "SCMP_ARCH_MIPS",        "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
          "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",    "SCMP_ARCH_PPC64",
          "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",  "SCMP_ARCH_X32",
          "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64"};
}

std::string seccomp_cache_dir() {
  if (::geteuid() == 0) return "/var/cache/ocelot/seccomp";
  const char* x = ::getenv("XDG_CACHE_HOME");
  if (x && *x == '/') return std::string(x) + "/ocelot/seccomp";
  const char* h = ::getenv("HOME");
  // No shared fallback (/tmp): another user could make the directory first. No home, no cache.
  if (h && *h == '/') return std::string(h) + "/.cache/ocelot/seccomp";
  return "";
}

std::string seccomp_library_version() {
  const struct scmp_version* v = seccomp_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

std::string seccomp_cache_key(const spec::Seccomp& s) {
  const struct scmp_version* v = seccomp_version();
  std::string k = "libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                  std::to_string(v->micro) + "\n" + s.default_action + " " +
                  std::to_string(s.default_errno_ret ? int64_t{*s.default_errno_ret} : -1) + "\n";
  for (const auto& a : s.architectures) k += "arch " + a + "\n";
  for (const auto& f : s.flags) k += "flag " + f + "\n";
  for (const auto& sc : s.syscalls) {
    k += "rule " + sc.action + " " + std::to_string(sc.errno_ret ? int64_t{*sc.errno_ret} : -1);
    for (const auto& n : sc.names) k += " " + n;
    for (const auto& a : sc.args)
      k += " [" + std::to_string(a.index) + " " + a.op + " " + std::to_string(a.value) + " " +
           std::to_string(a.value_two) + "]";
    k += "\n";
  }
  return k;
}

namespace {

// Bumped whenever what a profile compiles to changes (so no older build's program is reused).
const std::string kCacheMagic = "ocelot-seccomp 4\n";

struct Ctx {
  scmp_filter_ctx c = nullptr;
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ULL;
  return h;
}

std::string hex64(uint64_t v) {
  char name[32];
  snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(v));
  return name;
}

std::string cache_name(const std::string& key) { return hex64(fnv1a(key)) + ".bpf"; }

// Only what this user wrote counts: the directory and the file must belong to the effective uid
// and be writable by no one else (a program planted under the predictable name would otherwise
// be loaded as the container's filter). Opened without following symlinks.
bool owned_by_us(int fd, bool dir) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) return false;
  return dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

UniqueFd open_cache_dir(const std::string& dir) {
  UniqueFd d(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d.valid() || !owned_by_us(d.get(), true)) return UniqueFd();
  return d;
}

// Cache file: kCacheMagic <key length> " " <checksum of key and payload> "\n" <key> <payload>;
// payload: the skipped syscall names, each ended by a NUL (names never hold one), an empty name,
// then the bpf bytes.
struct Cached {
  std::vector<std::string> skipped;
  std::string bpf;
};

std::string cache_payload(const std::vector<std::string>& skipped, const std::string& bpf) {
  std::string p;
  for (const auto& n : skipped) p += n + '\0';
  return p + '\0' + bpf;
}

std::optional<Cached> read_cache(const std::string& dir, const std::string& key) {
  UniqueFd d = open_cache_dir(dir);
  if (!d.valid()) return std::nullopt;
  UniqueFd f(::openat(d.get(), cache_name(key).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!f.valid() || !owned_by_us(f.get(), false)) return std::nullopt;
  auto t = fs::read_fd(f.get(), cache_name(key), 64 << 20);
  if (!t) return std::nullopt;
  const std::string& magic = kCacheMagic;
  if (t->compare(0, magic.size(), magic) != 0) return std::nullopt;
  size_t nl = t->find('\n', magic.size());
  if (nl == std::string::npos) return std::nullopt;
  char* end = nullptr;
  size_t klen = std::strtoull(t->c_str() + magic.size(), &end, 10);
  if (!end || *end != ' ' || end + 17 != t->c_str() + nl) return std::nullopt;
  std::string sum(end + 1, 16);
  if (t->size() < nl + 1 + klen || t->compare(nl + 1, klen, key) != 0) return std::nullopt;
  std::string payload = t->substr(nl + 1 + klen);
  if (hex64(fnv1a(payload, fnv1a(key))) != sum) return std::nullopt;  // torn or damaged
  Cached c;
  size_t i = 0;
  for (;;) {
    size_t z = payload.find('\0', i);
    if (z == std::string::npos) return std::nullopt;
    if (z == i) break;
    c.skipped.push_back(payload.substr(i, z - i));
    i = z + 1;
  }
  c.bpf = payload.substr(i + 1);
  if (c.bpf.empty() || c.bpf.size() % sizeof(struct sock_filter) != 0) return std::nullopt;
  return c;
}

void write_cache(const std::string& dir, const std::string& key, const std::vector<std::string>& skipped,
                 const std::string& bpf) {
  (void)fs::mkdir_p(dir, 0700);
  if (!open_cache_dir(dir).valid()) return;  // someone else's directory: no cache
  std::string payload = cache_payload(skipped, bpf);
  std::string blob =
      kCacheMagic + std::to_string(key.size()) + " " + hex64(fnv1a(payload, fnv1a(key))) + "\n" + key + payload;
  (void)fs::write_file_atomic(dir + "/" + cache_name(key), blob, 0600);  // failing to cache is not an error
}

}  // namespace

namespace {

// "SCMP_ARCH_X86_64" -> libseccomp's token; 0 when it does not know it (runc refuses such an
// architecture: a profile for it would silently not apply).
uint32_t arch_token(const std::string& a) {
  std::string n = a.rfind("SCMP_ARCH_", 0) == 0 ? a.substr(10) : a;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  return seccomp_arch_resolve_name(n.c_str());
}

Result<unsigned> filter_flags(const spec::Seccomp& s) {
  unsigned flags = 0;
  for (const auto& fl : s.flags) {
    if (fl == "SECCOMP_FILTER_FLAG_TSYNC") continue;  // single-threaded at load time
    if (fl == "SECCOMP_FILTER_FLAG_LOG")
      flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (fl == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
      flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (fl == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
      flags |= (1U << 5);  // Linux 5.19
    else
      return Error::make("linux.seccomp.flags: unsupported flag \"" + fl + "\"");
  }
  return flags;
}

// What the rules name, for the ENOSYS rule of newer syscalls.
struct Named {
  std::set<int> nrs;
  int max = -1;
};

// One rule of the profile, for each of its names libseccomp knows (the others are skipped).
Status add_rule(scmp_filter_ctx ctx, const spec::Seccomp& s, const spec::SeccompSyscall& sc, uint32_t def, Named& named,
                std::vector<std::string>& skipped) {
  for (const auto& name : sc.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr >= 0) {
      named.nrs.insert(nr);
      named.max = std::max(named.max, nr);
    }
  }
  uint32_t act = OCL_TRY(seccomp_action(sc.action, sc.errno_ret ? sc.errno_ret : s.default_errno_ret));
  if (act == def) return ok();  // libseccomp refuses rules that repeat the default
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
      skipped.push_back(name);
      continue;
    }
    auto add = [&](unsigned n, const scmp_arg_cmp* c) -> Status {
      int rc = seccomp_rule_add_array(ctx, act, nr, n, c);
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
  return ok();
}

// Syscalls newer than everything the profile names must fail with ENOSYS, not the default errno,
// so that libc falls back (glibc's clone3 -> clone, moby#42680): the profile cannot have meant to
// deny a syscall its author did not know of.
Status add_enosys_for_newer(scmp_filter_ctx ctx, const spec::Seccomp& s, uint32_t def, const Named& named) {
  bool denies = s.default_action != "SCMP_ACT_ALLOW" && s.default_action != "SCMP_ACT_LOG";
  if (!denies || named.max < 0 || def == SCMP_ACT_ERRNO(ENOSYS)) return ok();
  for (int nr = named.max + 1; nr < 1024; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (!name) continue;
    free(name);
    if (named.nrs.count(nr)) continue;
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    if (rc != 0 && rc != -EEXIST) return Error::sys(-rc, "seccomp: add ENOSYS rule for syscall " + std::to_string(nr));
  }
  return ok();
}

// The program, exported through a memfd; seccomp(2) gets it directly.
Result<std::string> export_program(scmp_filter_ctx ctx) {
  UniqueFd mfd(static_cast<int>(::syscall(SYS_memfd_create, "ocelot-bpf", MFD_CLOEXEC)));
  if (!mfd.valid()) return Error::last("seccomp: memfd_create");
  int rc = seccomp_export_bpf(ctx, mfd.get());
  if (rc != 0) return Error::sys(-rc, "seccomp: export the filter");
  off_t size = ::lseek(mfd.get(), 0, SEEK_END);
  std::string bpf(static_cast<size_t>(size), '\0');
  if (::pread(mfd.get(), bpf.data(), bpf.size(), 0) != size) return Error::last("seccomp: read the filter");
  return bpf;
}

}  // namespace

Result<SeccompFilter> SeccompFilter::build(const spec::Seccomp& s, const std::string& cache_dir) {
  SeccompFilter f;
  uint32_t def = OCL_TRY(seccomp_action(s.default_action, s.default_errno_ret));
  f.flags_ = OCL_TRY(filter_flags(s));
  for (const auto& sc : s.syscalls)
    if (sc.action == "SCMP_ACT_NOTIFY") f.notify_ = true;
  if (f.notify_) f.flags_ |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  // Checked before the cache is consulted: a cached program never excuses a bad profile.
  for (const auto& a : s.architectures)
    if (arch_token(a) == 0) return Error::make("linux.seccomp.architectures: unknown architecture " + quote(a));
  std::string key;
  if (!cache_dir.empty()) {
    key = seccomp_cache_key(s);
    if (auto cached = read_cache(cache_dir, key)) {
      f.bpf_ = std::move(cached->bpf);
      f.skipped = std::move(cached->skipped);
      f.from_cache_ = true;
      return f;
    }
  }
  Ctx ctx;
  ctx.c = seccomp_init(def);
  if (!ctx.c) return Error::make("seccomp: cannot initialise a filter");
  for (const auto& a : s.architectures) {
    int rc = seccomp_arch_add(ctx.c, arch_token(a));
    if (rc != 0 && rc != -EEXIST) return Error::sys(-rc, "seccomp: add architecture " + a);
  }
  Named named;
  for (const auto& sc : s.syscalls) OCL_CHECK(add_rule(ctx.c, s, sc, def, named, f.skipped));
  OCL_CHECK(add_enosys_for_newer(ctx.c, s, def, named));
  f.bpf_ = OCL_TRY(export_program(ctx.c));
  if (!cache_dir.empty()) write_cache(cache_dir, key, f.skipped, f.bpf_);
  return f;
}

Result<UniqueFd> SeccompFilter::program_memfd() const {
  UniqueFd fd(static_cast<int>(::syscall(SYS_memfd_create, "ocelot-seccomp", MFD_CLOEXEC)));
  if (!fd.valid()) return Error::last("memfd_create for the seccomp program");
  size_t off = 0;
  while (off < bpf_.size()) {
    ssize_t n = ::write(fd.get(), bpf_.data() + off, bpf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::last("write the seccomp program");
    off += static_cast<size_t>(n);
  }
  return fd;
}

Result<int> SeccompFilter::load_in_child() const {
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(bpf_.size() / sizeof(struct sock_filter));
  prog.filter = reinterpret_cast<struct sock_filter*>(const_cast<char*>(bpf_.data()));
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog);
  if (rc < 0) return Error::last("load seccomp filter");
  return notify_ ? static_cast<int>(rc) : -1;
}

}  // namespace ocelot::runtime
