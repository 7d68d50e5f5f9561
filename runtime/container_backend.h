// The container backend: the workload kept apart by Linux namespaces, cgroups, seccomp and
// capabilities, its init a clone of this process (docs/handshake.md). create's container part is
// in container_backend.cc (checks, host preparation) and create_handshake.cc (the clone and the
// parent's side of the handshake; the child's is init_process.cc); exec in exec.cc.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "base/unique_fd.h"
#include "namespaces/join.h"
#include "namespaces/rootfs.h"
#include "runtime/backend.h"
#include "runtime/init_process.h"
#include "runtime/seccomp.h"

namespace ocelot::runtime {

// The cgroup mounts a container sees under a "cgroup" mount, one per host hierarchy: mounted
// afresh in a cgroup namespace, else bound from the container's cgroup (host_source).
std::vector<ns::CgroupMount> cgroup_mounts(const cgroups::Layout& l, const cgroups::Paths& p);

class ContainerBackend : public Backend {
 public:
  explicit ContainerBackend(const Globals& g) : g_(g) {}
  std::string_view name() const override { return "container"; }

  Status load(Creation& c) override;
  Status prepare(Creation& c) override;
  Status spawn(Creation& c) override;  // create_handshake.cc
  std::optional<spec::Resources> host_resources(const Creation& c) const override;
  Status complete(Creation& c) override;  // create_handshake.cc
  Error why_failed(Creation& c, Error ours) noexcept override;
  Status hand_over(Creation& c, Launched& out) override;
  void undo(Creation& c) noexcept override;

  Status start(const StateStore& store, const Stored& s, Launched* l) override;
  Result<int> wait(Launched& l, SignalBlock& signals) override;
  Result<int> exec(const StateStore& store, const Stored& s, spec::ContainerStatus st, const ExecOptions& o) override;
  Status signal(const StateStore& store, const Stored& s, spec::ContainerStatus st, int sig, bool all) override;
  Status update(const StateStore& store, const Stored& s, const spec::Resources& r) override;
  void on_delete(const Stored& s) noexcept override;

 private:
  InitArgs init_args(const Creation& c) const;
  const Globals& g_;
  // What one create holds between its steps.
  std::vector<ns::CgroupMount> cgroup_mounts_;
  std::optional<SeccompFilter> filter_;
  UniqueFd bpf_, fifo_, parent_sock_, child_sock_, console_, console_peer_, stub_;
  ns::NsFds ns_fds_;
  int pass_fds_ = 0, listen_fds_ = 0;
};

std::unique_ptr<Backend> make_container_backend(const Globals& g);

// The process exec runs: --process, or the container's own with the flags applied (pure).
Result<spec::Process> exec_process_spec(const ExecOptions& o, const spec::Config& cfg);

}  // namespace ocelot::runtime
