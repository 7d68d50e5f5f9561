// linux.seccomp -> a libseccomp filter. Built in the parent before clone() (so a bad profile is a
// clear error from create, and the child only calls seccomp_load), loaded by the child as late as
// possible: right before execve when noNewPrivileges is set, else before capabilities are dropped
// (loading without no_new_privs needs CAP_SYS_ADMIN), as runc orders it.
#pragma once

#include <seccomp.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/config.h"

namespace ocelot::runtime {

// A compiled filter: the BPF program libseccomp generates, plus the seccomp(2) flags. Compiling
// a large profile costs milliseconds (podman's: ~15 ms for 472 names on three architectures), so
// the program is cached under cache_dir, keyed by the exact profile and libseccomp version; a
// cached profile costs one small file read.
class SeccompFilter {
 public:
  // cache_dir: "" for no cache.
  static Result<SeccompFilter> build(const spec::Seccomp& s, const std::string& cache_dir);
  // In the child: seccomp(SECCOMP_SET_MODE_FILTER). Returns the notify fd, or -1.
  Result<int> load_in_child() const;
  bool uses_notify() const { return notify_; }
  unsigned flags() const { return flags_; }
  // The program in a memfd (close-on-exec), for the init stub to load after `start`.
  Result<UniqueFd> program_memfd() const;
  bool from_cache() const { return from_cache_; }
  std::vector<std::string> skipped;  // syscall names this libseccomp does not know

 private:
  std::string bpf_;  // struct sock_filter[] as bytes
  unsigned flags_ = 0;
  bool notify_ = false;
  bool from_cache_ = false;
};

// /var/cache/ocelot/seccomp for root, $XDG_CACHE_HOME (or ~/.cache)/ocelot/seccomp otherwise.
std::string seccomp_cache_dir();
// "2.5.4": the libseccomp linked in.
std::string seccomp_library_version();
// The deterministic text a cache entry is keyed by.
std::string seccomp_cache_key(const spec::Seccomp& s);

Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret);
Result<scmp_compare> seccomp_op(const std::string& name);
// For `features`.
std::vector<std::string> seccomp_known_actions();
std::vector<std::string> seccomp_known_ops();
std::vector<std::string> seccomp_known_flags();
std::vector<std::string> seccomp_known_archs();

}  // namespace ocelot::runtime
