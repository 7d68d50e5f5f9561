// CRIU's RPC, for what its command line cannot do: a container with a terminal. Its pty master
// is the caller's (conmon's, the shim's), outside the dumped tree, and only the RPC option
// orphan_pts_master lets CRIU dump such a slave and, on restore, make a new pair whose master it
// hands back over the RPC socket ("orphan-pts-master" notification) for ocelot to send to the
// console socket. runc uses the same option on every checkpoint and restore.
//
// Everything else rides along unchanged: the planners' arguments (runtime/criu.h) become CRIU's
// RPC configuration file (criu_opts.config_file, the command-line options one per line), so both
// ways run CRIU with the same options. The request and response are a few protobuf fields,
// encoded here (pure, unit-tested) rather than linking protobuf-c for them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "runtime/criu.h"

namespace ocelot::runtime {

// criu_req_type values (CRIU's images/rpc.proto).
enum class CriuRpcType : uint32_t { dump = 1, restore = 2, pre_dump = 4, notify = 6 };

struct CriuRpcRequest {
  CriuRpcType type = CriuRpcType::dump;
  int images_dir_fd = -1;  // an fd of the requesting process (CRIU opens /proc/<peer>/fd/N)
  int work_dir_fd = -1;    // likewise: logs and CRIU's own files
  pid_t pid = 0;           // dump: the tree's root
  std::string log_file;    // a name in the work dir
  int log_level = 4;
  bool orphan_pts_master = false;
  bool rst_sibling = false;  // restore: the tree becomes the requester's child
  std::string config_file;   // the options, in CRIU's configuration-file syntax
  // restore: fds of criu's own (its parent's, inherited) standing for the dumped ones, by key.
  std::vector<std::pair<int, std::string>> inherit_fds;
  bool notify_success = false;  // type notify: the answer to a notification
};

struct CriuRpcResponse {
  CriuRpcType type = CriuRpcType::dump;
  bool success = false;
  std::string notify_script;  // a notification: its action ("orphan-pts-master", "post-restore"...)
  pid_t restored_pid = 0;
  int cr_errno = 0;
  std::string cr_errmsg;
};

// protobuf encoding of a criu_req with these fields. Pure.
std::string encode_criu_request(const CriuRpcRequest& r);
// A criu_resp; unknown fields are skipped. Pure.
Result<CriuRpcResponse> decode_criu_response(const std::string& bytes);

// A call's options as CRIU's configuration file: one option per line ("--external X" ->
// `external "X"`, "--a=b" -> `a=b`). Pure. A value with '#' or a newline cannot be written there
// (CRIU reads '#' as a comment): an error naming it.
Result<std::string> criu_config_text(const std::vector<std::string>& options);

// Runs `criu swrk` for the call: its directories as fds, its options through a configuration
// file, its inherited fds in the request (they and extra_fds stay open in criu), orphan_pts_master
// set; CRIU logs to log_name in the work dir. A new pty master handed back on restore goes to
// on_pty_master (its error aborts the restore). Returns the restored pid (restore) or 0. Fails as
// "criu <action> failed: <CRIU's first error> (log: ...)".
Result<pid_t> run_criu(const std::string& criu, const CriuCall& call, pid_t dump_pid, const std::string& log_name,
                       const std::vector<int>& extra_fds, const std::function<Status(int)>& on_pty_master);

}  // namespace ocelot::runtime
