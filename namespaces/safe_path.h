// Opening and creating paths inside a root directory without letting a symlink in the rootfs
// lead outside it (CVE-2021-30465 class): every lookup is openat2(RESOLVE_IN_ROOT), so ".." and
// absolute symlinks resolve as if rootfd were "/". The resulting O_PATH fd is used as a mount target
// through its /proc/self/fd magic link, so the kernel mounts on exactly what we resolved.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::ns {

Result<UniqueFd> open_in_root(int rootfd, const std::string& path, int flags);
// Resolves every symlink of path as if rootfd were "/" (absolute links restart at the root, ".."
// stops there), also through components that do not exist yet: the path a mount will land on.
Result<std::string> resolve_in_root(int rootfd, const std::string& path);
// Creates every missing directory of path (mode 0755) inside root; returns the directory, opened
// O_PATH (a mount target). A missing component costs one mkdirat and one open in its parent;
// only a symlink on the way to something missing takes the general walk.
Result<UniqueFd> mkdir_all_in_root(int rootfd, const std::string& path);
// Creates the parent directories and an empty regular file (for file bind mounts and devices);
// returns it opened O_PATH.
Result<UniqueFd> create_file_in_root(int rootfd, const std::string& path, mode_t mode = 0644);
// name, a direct child of dirfd, opened without following any symlink.
Result<UniqueFd> open_child(int dirfd, const std::string& name, int flags);
inline std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace ocelot::ns
