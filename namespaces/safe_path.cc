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

// name, a direct child of dirfd, without following any symlink: what we just created is
// what we open (a symlink put there meanwhile is ELOOP, and the caller takes the slow path).
Result<UniqueFd> open_child(int dirfd, const std::string& name, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EAGAIN || errno == EINTR) continue;
    return Error::last("open \"" + name + "\" in rootfs");
  }
}

// The general walk: resolves every symlink inside root first (a dangling one names the
// directory to create), then creates each component in its safely opened parent.
static Result<UniqueFd> mkdir_all_walk(int rootfd, const std::string& path) {
  std::string clean = OCL_TRY(resolve_in_root(rootfd, path));
  UniqueFd parent = OCL_TRY(open_in_root(rootfd, "/", O_PATH | O_DIRECTORY));
  std::string done;
  size_t i = 1;
  while (i <= clean.size()) {
    size_t j = clean.find('/', i);
    if (j == std::string::npos) j = clean.size();
    std::string name = clean.substr(i, j - i);
    i = j + 1;
    if (name.empty()) continue;
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
  return parent;
}

Result<UniqueFd> mkdir_all_in_root(int rootfd, const std::string& path) {
  auto fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
  if (fd || fd.error().code != ENOENT) return fd;
  std::string clean = fs::clean_abs("/" + path);
  if (clean == "/" || path.find("..") != std::string::npos) return mkdir_all_walk(rootfd, path);
  // Missing: make sure the parent is there (recursively), then create this one in it.
  UniqueFd parent = OCL_TRY(mkdir_all_in_root(rootfd, fs::dirname(clean)));
  std::string name = fs::basename(clean);
  if (::mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
    return Error::last("mkdir \"" + clean + "\" in rootfs");
  auto made = open_child(parent.get(), name, O_PATH | O_DIRECTORY);
  if (made) return made;
  return mkdir_all_walk(rootfd, path);  // a (dangling) symlink: resolve it inside root
}

static Result<UniqueFd> create_file_in(int dirfd, const std::string& name, const std::string& shown, mode_t mode) {
  int f = ::openat(dirfd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  if (f < 0 && errno != EEXIST) return Error::last("create \"" + shown + "\" in rootfs");
  if (f >= 0) ::close(f);
  return open_child(dirfd, name, O_PATH);
}

Result<UniqueFd> create_file_in_root(int rootfd, const std::string& path, mode_t mode) {
  auto fd = open_in_root(rootfd, path, O_PATH);
  if (fd || fd.error().code != ENOENT) return fd;
  std::string clean = fs::clean_abs("/" + path);
  if (path.find("..") == std::string::npos) {
    UniqueFd dir = OCL_TRY(mkdir_all_in_root(rootfd, fs::dirname(clean)));
    auto made = create_file_in(dir.get(), fs::basename(clean), clean, mode);
    if (made || made.error().code != ELOOP) return made;
  }
  // A dangling symlink (or ".."): the file is created where it points, resolved inside root.
  clean = OCL_TRY(resolve_in_root(rootfd, path));
  UniqueFd dir = OCL_TRY(mkdir_all_in_root(rootfd, fs::dirname(clean)));
  return create_file_in(dir.get(), fs::basename(clean), clean, mode);
}

}  // namespace ocelot::ns
