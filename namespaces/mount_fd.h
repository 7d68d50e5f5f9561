// Bind mounts between file descriptors (open_tree(OPEN_TREE_CLONE) + move_mount), so that a file
// the runtime verified (the null device for masked paths, the terminal for /dev/console) is what
// gets mounted, and the target is exactly what was opened: no path is looked up again, and no
// /proc magic link is needed (the container's /proc is not trusted for this). Falls back to
// mount(2) through /proc/self/fd on kernels without the new mount API.
#pragma once

#include <string>

#include "base/error.h"

namespace ocelot::ns {

// Bind-mounts the file (or directory) src_fd refers to onto target_fd. what: for the error.
Status bind_fd_onto(int src_fd, int target_fd, const std::string& what);
// A new empty read-only tmpfs on the directory target_fd (a masked directory).
Status mount_empty_tmpfs_onto(int target_fd, const std::string& what);

}  // namespace ocelot::ns
