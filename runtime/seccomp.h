// linux.seccomp -> a libseccomp filter. Built in the parent before clone() (so a bad profile is a
// clear error from create, and the child only calls seccomp_load), loaded by the child as late as
// possible: right before execve when noNewPrivileges is set, else before capabilities are dropped
// (loading without no_new_privs needs CAP_SYS_ADMIN), as runc orders it.
#pragma once

#include <seccomp.h>

#include <string>
#include <vector>

#include "runtime/base/error.h"
#include "spec/config.h"

namespace ocelot::runtime {

class SeccompFilter {
 public:
  SeccompFilter() = default;
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;
  SeccompFilter(SeccompFilter&& o) noexcept : ctx_(o.ctx_), notify_(o.notify_) { o.ctx_ = nullptr; }
  ~SeccompFilter() {
    if (ctx_) seccomp_release(ctx_);
  }
  static Result<SeccompFilter> build(const spec::Seccomp& s);
  // In the child. Returns the notify fd (or -1) when an action is SCMP_ACT_NOTIFY.
  Result<int> load_in_child() const;
  bool uses_notify() const { return notify_; }
  std::vector<std::string> skipped;  // syscall names this libseccomp does not know

 private:
  scmp_filter_ctx ctx_ = nullptr;
  bool notify_ = false;
};

Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret);
Result<scmp_compare> seccomp_op(const std::string& name);
// For `features`.
std::vector<std::string> seccomp_known_actions();
std::vector<std::string> seccomp_known_ops();
std::vector<std::string> seccomp_known_flags();
std::vector<std::string> seccomp_known_archs();

}  // namespace ocelot::runtime
