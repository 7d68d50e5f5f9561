// Failpoints (FreeBSD's fail(9), etcd's gofail): named steps at which a test makes the runtime
// kill itself on purpose, so the fault tests reach every step of create, start, exec and delete
// on every run instead of killing at a random time.
//
//   OCELOT_FAILPOINT=create.cgroup-joined ocelot create ...   # SIGKILLs itself at that step
//
// The variable holds one step name or several separated by commas. It is read once per process
// (and inherited by the processes ocelot clones, which check the same names). A step no test
// names costs one branch on an empty string. The steps are listed in docs/errors.md.
#pragma once

namespace ocelot {

// SIGKILLs the calling process when OCELOT_FAILPOINT names `step`. Safe after clone() and
// before execve (no allocation, async-signal-safe calls only once the variable was read).
void failpoint(const char* step) noexcept;
// Read the variable now (the parent, before it clones: the child then only compares).
void failpoint_init() noexcept;

}  // namespace ocelot
