#include "runtime/inherited_fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bitset>
#include <charconv>
#include <cstdlib>
#include <string>

namespace ocelot::runtime {

namespace {
constexpr int kTracked = 4096;
std::bitset<kTracked> g_inherited;
bool g_recorded = false;
}  // namespace

void record_inherited_fds() {
  g_inherited.reset();
  g_recorded = true;
  // One directory read instead of a fcntl() per possible fd (this runs on every command).
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) {
    for (int fd = 3; fd < 256; ++fd)
      if (::fcntl(fd, F_GETFD) >= 0) g_inherited.set(static_cast<size_t>(fd));
    return;
  }
  int own = ::dirfd(d);
  while (auto* e = ::readdir(d)) {
    int fd = std::atoi(e->d_name);
    if (fd >= 3 && fd < kTracked && fd != own) g_inherited.set(static_cast<size_t>(fd));
  }
  ::closedir(d);
}

bool fd_was_inherited(int fd) {
  if (!g_recorded) record_inherited_fds();  // a library user (the VM agent) that did not call it
  return fd >= 0 && fd < kTracked && g_inherited.test(static_cast<size_t>(fd));
}

Result<int> fds_to_pass(int preserve_fds, bool honour_listen_fds, int* listen_fds) {
  int listen = 0;
  if (honour_listen_fds) {
    const char* n = ::getenv("LISTEN_FDS");
    const char* p = ::getenv("LISTEN_PID");
    if (n && p) {
      long pid = 0, count = 0;
      std::string_view ps(p), ns(n);
      auto r1 = std::from_chars(ps.data(), ps.data() + ps.size(), pid);
      auto r2 = std::from_chars(ns.data(), ns.data() + ns.size(), count);
      if (r1.ec == std::errc() && r2.ec == std::errc() && pid == ::getpid() && count > 0 && count < kTracked)
        listen = static_cast<int>(count);
    }
  }
  if (listen_fds) *listen_fds = listen;
  int n = listen + preserve_fds;
  if (n >= kTracked - 3) return Error::make("--preserve-fds: too many file descriptors (" + std::to_string(n) + ")");
  for (int fd = 3; fd < 3 + n; ++fd)
    if (!fd_was_inherited(fd))
      return Error::make((fd < 3 + listen ? std::string("LISTEN_FDS=") + std::to_string(listen)
                                          : "--preserve-fds " + std::to_string(preserve_fds)) +
                         ": file descriptor " + std::to_string(fd) + " was not passed to ocelot");
  return n;
}

Status mark_fds_for_exec_in_child(int n) {
  for (int fd = 3; fd < 3 + n; ++fd) {
    int fl = ::fcntl(fd, F_GETFD);
    if (fl < 0 || ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) != 0)
      return Error::last("keep file descriptor " + std::to_string(fd) + " open");
  }
  if (::syscall(SYS_close_range, 3 + n, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    return Error::last("mark file descriptors close-on-exec");
  return ok();
}

}  // namespace ocelot::runtime
