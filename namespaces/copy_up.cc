#include "namespaces/copy_up.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace ocelot::ns {

namespace {

Status copy_attrs(int dirfd, const char* name, const struct stat& st, bool symlink) {
  int nofollow = symlink ? AT_SYMLINK_NOFOLLOW : 0;
  if (::fchownat(dirfd, name, st.st_uid, st.st_gid, nofollow) != 0)
    return Error::last(std::string("chown \"") + name + "\"");
  if (!symlink && ::fchmodat(dirfd, name, st.st_mode & 07777, 0) != 0)
    return Error::last(std::string("chmod \"") + name + "\"");
  struct timespec t[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) != 0)
    return Error::last(std::string("set times of \"") + name + "\"");
  return ok();
}

Status copy_file(int from_dir, int to_dir, const char* name, const struct stat& st) {
  UniqueFd in(::openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return Error::last(std::string("open \"") + name + "\"");
  UniqueFd out(::openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777));
  if (!out.valid()) return Error::last(std::string("create \"") + name + "\"");
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::last(std::string("copy \"") + name + "\"");
    if (n == 0) break;  // the file shrank meanwhile
    left -= n;
  }
  return ok();
}

Status copy_dir(int from_dir, int to_dir, int depth) {
  if (depth > 256) return Error::sys(ELOOP, "tree too deep");
  int dup = ::fcntl(from_dir, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) return Error::last("dup a directory fd");
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return Error::last("list a directory");
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  while (auto* e = ::readdir(d))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
  ::closedir(d);
  for (const auto& n : names) {
    const char* name = n.c_str();
    struct stat st;
    if (::fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return Error::last("stat \"" + n + "\"");
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to_dir, name, 0700) != 0) return Error::last("mkdir \"" + n + "\"");
      UniqueFd a(::openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd b(::openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!a.valid() || !b.valid()) return Error::last("open directory \"" + n + "\"");
      auto st2 = copy_dir(a.get(), b.get(), depth + 1);
      if (!st2) return std::move(st2).error().wrap(n);
      OCL_CHECK(copy_attrs(to_dir, name, st, false));
    } else if (S_ISREG(st.st_mode)) {
      OCL_CHECK(copy_file(from_dir, to_dir, name, st));
      OCL_CHECK(copy_attrs(to_dir, name, st, false));
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t len = ::readlinkat(from_dir, name, target, sizeof target - 1);
      if (len < 0) return Error::last("readlink \"" + n + "\"");
      target[len] = 0;
      if (::symlinkat(target, to_dir, name) != 0) return Error::last("symlink \"" + n + "\"");
      OCL_CHECK(copy_attrs(to_dir, name, st, true));
    } else {
      if (::mknodat(to_dir, name, st.st_mode, st.st_rdev) != 0) return Error::last("mknod \"" + n + "\"");
      OCL_CHECK(copy_attrs(to_dir, name, st, false));
    }
  }
  return ok();
}

}  // namespace

// The tmpfs root itself keeps what its mount options say (mode=, uid=, gid=).
Status copy_tree(int from_dir, int to_dir) { return copy_dir(from_dir, to_dir, 0); }

}  // namespace ocelot::ns
