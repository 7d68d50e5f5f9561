#include "namespaces/safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/base/fs.h"

namespace ocelot::ns {

Result<UniqueFd> open_in_root(int rootfd, const std::string& path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  for (;;) {
    long fd = ::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EAGAIN || errno == EINTR) continue;
    return Error::last("open \"" + path + "\" in rootfs");
  }
}

Status mkdir_all_in_root(int rootfd, const std::string& path) {
  std::string clean = fs::clean_abs(path);
  if (clean == "/") return ok();
  // Walk from the top: each component is created in its (already safely opened) parent.
  UniqueFd parent = OCL_TRY(open_in_root(rootfd, "/", O_PATH | O_DIRECTORY));
  std::string done;
  size_t i = 1;
  while (i <= clean.size()) {
    size_t j = clean.find('/', i);
    if (j == std::string::npos) j = clean.size();
    std::string name = clean.substr(i, j - i);
    i = j + 1;
    done += "/" + name;
    auto next = open_in_root(rootfd, done, O_PATH | O_DIRECTORY);
    if (!next && next.error().code == ENOENT) {
      if (::mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        return Error::last("mkdir \"" + done + "\" in rootfs");
      next = open_in_root(rootfd, done, O_PATH | O_DIRECTORY);
    }
    if (!next) return std::move(next).error();
    parent = std::move(*next);
  }
  return ok();
}

Status create_file_in_root(int rootfd, const std::string& path, mode_t mode) {
  std::string clean = fs::clean_abs(path);
  std::string dir = fs::dirname(clean);
  OCL_CHECK(mkdir_all_in_root(rootfd, dir));
  auto exists = open_in_root(rootfd, clean, O_PATH);
  if (exists) return ok();
  UniqueFd pfd = OCL_TRY(open_in_root(rootfd, dir, O_PATH | O_DIRECTORY));
  std::string name = fs::basename(clean);
  int fd = ::openat(pfd.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0 && errno != EEXIST) return Error::last("create \"" + clean + "\" in rootfs");
  if (fd >= 0) ::close(fd);
  return ok();
}

}  // namespace ocelot::ns
