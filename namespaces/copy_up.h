// tmpcopyup: copies a directory tree (files, directories, symlinks, device nodes, fifos) with
// modes, owners and times, from an fd of the covered directory into an fd of the new tmpfs.
// Every step is *at() relative to an fd, with O_NOFOLLOW: a symlink in the rootfs is copied as a
// symlink, never followed out of it.
#pragma once

#include "base/error.h"

namespace ocelot::ns {

Status copy_tree(int from_dir, int to_dir);

}  // namespace ocelot::ns
