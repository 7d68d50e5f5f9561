// A pool of warmed spares for VM containers (docs/vm.md, "The pool"). A spare is a guest already
// restored from its template that has already run one container to its exit (the agent's
// warm-up), so TCG has translated the guest kernel's and the runtime's paths; a VM container's
// create takes one instead of starting a VMM, and a new spare is started behind it.
//
// Each spare is a keeper process (forked from the create that asked for it, detached) and the
// VMM it started, in a directory of the pool: <state root>/@vm-pool/<template>-<keeper pid>/
// holding the VMM's sockets and log, and keeper.sock once the spare is ready. The keeper
//  - holds what the VMM fixed at its start that belongs to the container: the other ends of its
//    stdout and stderr (pipes; QEMU cannot swap a virtio-serial port's backend) and of its 9p
//    sockets (each served by a placeholder helper on an empty directory until the hand-off);
//  - stops the spare after its idle time, when its VMM exits, or when asked (`ocelot vm-pool
//    stop`); a spare is never handed out twice, nor back to the pool;
//  - at the hand-off passes the 9p sockets to the create, which starts the container's helpers on
//    them, and becomes the relay of the workload's output to the create's stdout and stderr,
//    until the VMM exits (in the container's cgroup, as the VMM and helpers are from then on).
// The guest takes the container's id, a fresh random seed and the clock from the plan, as every
// restore does: two containers from the pool share neither memory they wrote nor randomness.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vm/vmm/qemu.h"
#include "vm/vmm/template.h"

namespace ocelot::vm {

// Under the state root; '@' is in no container id, so `list` never sees it.
inline constexpr const char* kPoolDirName = "@vm-pool";

struct PoolSettings {
  unsigned size = 1;  // spares kept per template (size class); 0: no pool
  int idle_s = 300;   // an unclaimed spare stops after this many seconds
};

std::string pool_dir(const std::string& state_root);

// Why a container of this plan cannot take a spare ("" when it can). The spare's VMM fixed at
// its start what a terminal (a host pty), NICs (taps) and a console log need, and only an
// unprivileged VMM's shares can be handed over (each served by a helper on its own socket).
std::string pool_unfit(const VmPlan& restore_plan);

// A spare handed to a container: its directory, its VMM and keeper, and one socket per share
// slot (the helpers' ends: the create starts the container's helpers on them).
struct ClaimedSpare {
  std::string dir;
  pid_t vmm = 0, keeper = 0;
  UniqueFd vmm_pidfd, keeper_pidfd;
  UniqueFd ctl;  // the agent's control port, connected (the agent is waiting for its plan there)
  std::vector<UniqueFd> share_socks;
};

// Takes a ready spare of this template, if there is one. out, err: the container's stdout and
// stderr (the keeper relays the workload's to them). foreground: a process whose exit stops the
// VMM (`run`: nothing outlives it), 0 for none.
Result<std::optional<ClaimedSpare>> claim_spare(const std::string& pool, const std::string& template_name, int out,
                                                int err, pid_t foreground);

// Starts spares (detached keepers) until s.size of this template exist, ready or warming, and
// stops those of templates that are gone (rebuilt for a new QEMU, kernel or agent). restore_plan:
// a container's, slot-padded (with_template_slots); empty_dir: what unused slots share; agent:
// the guest agent's binary (the warm-up container's workload).
void refill_pool(const std::string& pool, const VmPlan& restore_plan, const Template& t, const std::string& empty_dir,
                 const std::string& agent, const PoolSettings& s);

struct SpareInfo {
  std::string dir, template_name;
  pid_t keeper = 0;
  std::string state;  // warming, ready, in use (claimed by a container), gone (its keeper died)
  int64_t age_s = 0;
};
std::vector<SpareInfo> list_spares(const std::string& pool);
// Stops every spare that is not in use (warming ones too) and removes what dead ones left.
// Returns how many were stopped.
Result<int> stop_spares(const std::string& pool);
// Removes the spare a container's state directory records (delete, and a create that failed).
void forget_spare(const std::string& state_dir);
// Waits until no spare is warming (a benchmark's step between runs), at most timeout_ms.
Status wait_for_spares(const std::string& pool, int timeout_ms);

}  // namespace ocelot::vm
