#include "namespaces/safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <deque>
#include <vector>

#include "base/fs.h"

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

static std::deque<std::string> split_path(const std::string& p) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    if (j > i) out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Result<std::string> resolve_in_root(int rootfd, const std::string& path) {
  std::vector<std::string> done;
  std::deque<std::string> todo = split_path(path);
  int links = 0;
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string rel;
    for (const auto& d : done) rel += d + "/";
    rel += c;
    char buf[PATH_MAX];
    ssize_t n = ::readlinkat(rootfd, rel.c_str(), buf, sizeof buf);
    if (n < 0) {  // not a symlink, or not there yet
      done.push_back(c);
      continue;
    }
    if (++links > 255) return Error::sys(ELOOP, "resolve \"" + path + "\" in rootfs");
    std::string target(buf, static_cast<size_t>(n));
    if (!target.empty() && target[0] == '/') done.clear();
    auto parts = split_path(target);
    todo.insert(todo.begin(), parts.begin(), parts.end());
  }
  std::string out;
  for (const auto& d : done) out += "/" + d;
  return out.empty() ? std::string("/") : out;
}

Status mkdir_all_in_root(int rootfd, const std::string& path) {
  // Common case first: the directory is already there (one openat2 instead of a walk).
  if (open_in_root(rootfd, path, O_PATH | O_DIRECTORY)) return ok();
  std::string clean = OCL_TRY(resolve_in_root(rootfd, path));
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
  std::string clean = OCL_TRY(resolve_in_root(rootfd, path));
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
