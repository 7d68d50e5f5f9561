#include "runtime/init_stub.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include "init_stub_bytes.h"

namespace ocelot::runtime {

Result<UniqueFd> make_init_stub() {
  UniqueFd fd(static_cast<int>(::syscall(SYS_memfd_create, "ocelot-init", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!fd.valid()) return Error::last("memfd_create for the init stub");
  const unsigned char* p = kInitStub;
  size_t left = sizeof kInitStub;
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::last("write the init stub");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return Error::last("seal the init stub");
  return fd;
}

static std::string hex(uint64_t v) {
  char b[32];
  (void)std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
  return b;
}

std::vector<std::string> init_stub_argv(const StubPlan& p) {
  std::vector<std::string> a = {"ocelot-init"};
  if (p.sync_fd >= 0) a.push_back("sync=" + std::to_string(p.sync_fd));
  if (p.fifo_fd >= 0) a.push_back("fifo=" + std::to_string(p.fifo_fd));
  if (p.state_fd >= 0) a.push_back("state=" + std::to_string(p.state_fd));
  if (p.bpf_fd >= 0) {
    a.push_back("bpf=" + std::to_string(p.bpf_fd));
    a.push_back("bpfflags=" + std::to_string(p.bpf_flags));
  }
  if (p.temp_caps) {
    a.push_back("temp=" + hex(p.temp_caps));
    a.push_back("final=" + hex(p.final_bounding) + "," + hex(p.final_inheritable) + "," + hex(p.final_ambient));
  }
  if (!p.apparmor.empty()) a.push_back("apparmor=" + std::to_string(p.attr_dir_fd) + "," + p.apparmor);
  if (!p.selinux.empty()) a.push_back("selinux=" + std::to_string(p.attr_dir_fd) + "," + p.selinux);
  if (p.start_hooks)
    for (const auto& h : *p.start_hooks) {
      size_t argc = h.args.size();
      a.push_back("hook=" + std::to_string(h.timeout.value_or(0)) + "," + std::to_string(argc) + "," +
                  std::to_string(h.env.size()));
      a.push_back(h.path);
      a.insert(a.end(), h.args.begin(), h.args.end());
      a.insert(a.end(), h.env.begin(), h.env.end());
    }
  a.push_back("--");
  a.push_back(p.exe);
  a.insert(a.end(), p.args.begin(), p.args.end());
  return a;
}

}  // namespace ocelot::runtime
