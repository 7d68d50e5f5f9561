#include "runtime/exec_trampoline.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "trampoline_bytes.h"

namespace ocelot::runtime {

Result<UniqueFd> make_exec_trampoline() {
  UniqueFd fd(static_cast<int>(::syscall(SYS_memfd_create, "ocelot-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!fd.valid()) return Error::last("memfd_create for the exec trampoline");
  const unsigned char* p = kTrampoline;
  size_t left = sizeof kTrampoline;
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::last("write the exec trampoline");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return Error::last("seal the exec trampoline");
  return fd;
}

void exec_via_trampoline(int tfd, const std::string& exe, const std::vector<std::string>& argv,
                         const std::vector<std::string>& env) noexcept {
  std::vector<char*> a, e;
  a.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
  e.push_back(nullptr);
  if (tfd >= 0) {
    ::syscall(SYS_execveat, tfd, "", a.data(), e.data(), AT_EMPTY_PATH);
    if (errno != EPERM && errno != EACCES && errno != ENOSYS) return;
  }
  ::execve(exe.c_str(), a.data() + 1, e.data());
}

}  // namespace ocelot::runtime
