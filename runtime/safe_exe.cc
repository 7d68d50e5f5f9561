#include "runtime/safe_exe.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "base/unique_fd.h"

extern char** environ;

namespace ocelot::runtime {

namespace {
std::vector<char*> g_argv;
bool g_assume_protected = false;
constexpr const char* kSelfEnv = "_OCELOT_SELF";  // set across the re-exec only
}  // namespace

void remember_argv(int argc, char** argv) { g_argv.assign(argv, argv + argc); }
void assume_protected_exe() { g_assume_protected = true; }

std::string self_path() {
  if (const char* s = ::getenv(kSelfEnv); s && *s) return s;
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "ocelot";
  return std::string(buf, static_cast<size_t>(n));
}

bool running_from_protected_exe() {
  if (g_assume_protected) return true;
  UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) return true;
  struct statvfs sv;
  return ::fstatvfs(fd.get(), &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

bool container_root_can_write_binary(const std::string& uid_map_text) {
  if (uid_map_text.empty()) return true;
  struct stat st;
  if (::stat("/proc/self/exe", &st) != 0) return true;
  // Group or other write permission: some container user might reach it; stay careful.
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return true;
  // The kernel lets a namespace's root override permissions only on files whose owner is mapped
  // into it (capable_wrt_inode_uidgid); an unmapped owner means plain permissions decide, and
  // those allow only the owner to write.
  std::istringstream in(uid_map_text);
  uint64_t inside, outside, count;
  while (in >> inside >> outside >> count)
    if (st.st_uid >= outside && st.st_uid < outside + count) return true;
  return false;
}

Status reexec_from_sealed_copy() {
  if (g_argv.empty()) return Error::make("re-exec: argv was not recorded");
  UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return Error::last("open our own binary");
  struct stat st;
  if (::fstat(src.get(), &st) != 0) return Error::last("stat our own binary");
  UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "ocelot", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!mem.valid()) return Error::last("memfd_create for a sealed copy of ocelot");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(mem.get(), src.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::last("copy ocelot into a memfd");
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return Error::last("seal the copy of ocelot");
  std::string self = self_path();
  ::setenv(kSelfEnv, self.c_str(), 1);
  std::vector<char*> argv = g_argv;
  argv.push_back(nullptr);
  ::syscall(SYS_execveat, mem.get(), "", argv.data(), environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kSelfEnv);
  return Error::sys(err, "run ocelot from its sealed copy");
}

}  // namespace ocelot::runtime
