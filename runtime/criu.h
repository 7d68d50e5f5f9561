// Checkpoint and restore with CRIU (runc's checkpoint/restore flags and meaning). The planners
// are pure: CRIU's command-line options of `dump` and `restore` for a container, unit-tested;
// they reach CRIU through its RPC (runtime/criu_rpc.h), which turns a failure into one line
// naming CRIU's own first error and its log.
//
// What ocelot hands CRIU, as runc does:
//   - the container's bind mounts as external mounts (dump: destination -> destination; restore:
//     destination -> the config's source), since their sources are outside the container;
//   - a network namespace joined by path as the external "extRootNetNS" (restore: inherited fd);
//   - stdio pipes (descriptors.json in the image dir, runc's format) inherited on restore from
//     ocelot's own stdio, so a caller's new pipes (the shim's, conmon's) are the restored ones;
//   - the root: a bind of the bundle's rootfs (CRIU restores the mounts beneath it);
//   - the cgroup: --cgroup-root to the restored container's own (its id may differ).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/error.h"

namespace ocelot::runtime {

// runc's flags for checkpoint and restore, as plain data.
struct CriuOptions {
  std::string image_path;             // --image-path (default: ./checkpoint)
  std::string work_path;              // --work-path (default: the image path): logs and CRIU's own files
  std::string parent_path;            // --parent-path: a pre-dump, relative to the image path
  std::string manage_cgroups_mode;    // --manage-cgroups-mode: soft (default), full, strict, ignore
  std::vector<std::string> empty_ns;  // --empty-ns: namespaces not dumped (network)
  bool leave_running = false, tcp_established = false, ext_unix_sk = false, shell_job = false, file_locks = false,
       pre_dump = false, auto_dedup = false, lazy_pages = false;
};

struct ExternalMount {
  std::string destination;  // in the container
  std::string source;       // on the host (restore)
};

struct DumpPlan {
  CriuOptions o;
  pid_t pid = 0;
  std::vector<ExternalMount> binds;
  bool external_net = false;  // the network namespace was joined by path
  uint64_t net_inode = 0;
  // The container's freezer cgroup (v1 freezer, or its v2 cgroup): CRIU freezes through it, as
  // runc asks, so a paused container is dumped (and left as it was) instead of timing out.
  std::string freeze_cgroup;
};

struct RestorePlan {
  CriuOptions o;
  std::string root;  // a mount of the rootfs
  std::vector<ExternalMount> binds;
  std::string cgroup_root;                           // the container's cgroup, relative to each hierarchy
  std::vector<std::pair<int, std::string>> inherit;  // fd, key (pipe:[N], extRootNetNS)
};

// What CRIU is asked, in the parts the RPC request carries apart: the action, the directories
// (opened and sent as fds), the fds it inherits, and every other option in CRIU's command-line
// spelling (written to its configuration file: criu_config_text).
struct CriuCall {
  std::string action;  // "dump", "pre-dump" or "restore"
  std::string images_dir, work_dir;
  std::vector<std::pair<int, std::string>> inherit;  // restore: our fd, CRIU's key for it
  std::vector<std::string> options;
};

// `criu dump` (or `pre-dump`).
CriuCall criu_dump_call(const DumpPlan& p);
// `criu restore` (the RPC makes it detached, the init a sibling: ocelot's child).
CriuCall criu_restore_call(const RestorePlan& p);
// The options CRIU cannot honour here, as one error ("" when none): lazy pages need a page server
// ocelot does not run.
Status check_criu_options(const CriuOptions& o, bool restore);
// The keys of a process's stdin, stdout and stderr as /proc shows them (runc's descriptors.json).
std::vector<std::string> stdio_descriptors(pid_t pid);
std::string descriptors_json(const std::vector<std::string>& fds);
Result<std::vector<std::string>> parse_descriptors_json(const std::string& text);
// Restore: which of ocelot's stdio fds stand for the dumped pipes.
std::vector<std::pair<int, std::string>> inherited_stdio(const std::vector<std::string>& dumped);

// The criu binary: --criu, else "criu" on PATH. Fails with one line when it is missing or too old
// to run (CRIU prints its version).
Result<std::string> find_criu(const std::string& flag);
// "criu 4.2 (/path)", or why there is none: what `features` and `checkpoint --help` say.
std::string criu_summary(const std::string& flag);
// CRIU's first real error in its log at path (its RLIMIT_NOFILE complaint without
// CAP_SYS_RESOURCE is harmless), or "no log" / "see the log".
std::string criu_log_error(const std::string& log);
}  // namespace ocelot::runtime
