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
// Creates every missing directory of path (mode 0755) inside root.
Status mkdir_all_in_root(int rootfd, const std::string& path);
// Creates the parent directories and an empty regular file (for file bind mounts and devices).
Status create_file_in_root(int rootfd, const std::string& path, mode_t mode = 0644);
inline std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace ocelot::ns
