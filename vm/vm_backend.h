// The VM backend: the same bundle in a small guest (QEMU today), whose agent runs ocelot's own
// container runtime inside. It plugs into the one creation core and lifecycle (runtime/backend.h):
// the core keeps the state record, makes the host cgroup the VMM lives in and undoes a failed
// create; this backend plans the guest, starts the VMM (cold, or restored from a template:
// vm/vmm/template.h), boots it to `created`, and speaks to the agent over the host-guest ports
// (vm/transport/) for start, exec, kill and update. How a boot falls back, and why:
//   - a template that does not restore (its VMM exits, or its monitor refuses): discarded, cold
//     boot; one whose restore is slow (a busy host): cold boot, the template kept;
//   - KVM that cannot run the guest (QEMU says so, or the guest never answers): TCG, remembered
//     for this host boot and QEMU only on evidence (vm/vmm/image.h);
//   - each wait has its own deadline, generous under TCG on a loaded 2-core host, and a timeout
//     names its step.
#pragma once

#include <memory>
#include <optional>

#include "runtime/backend.h"
#include "vm/pool/pool.h"
#include "vm/share/guest_config.h"
#include "vm/transport/channel.h"
#include "vm/vmm/network.h"
#include "vm/vmm/process.h"
#include "vm/vmm/qemu.h"
#include "vm/vmm/template.h"

namespace ocelot::vm {

class VmBackend : public runtime::Backend {
 public:
  explicit VmBackend(const runtime::Globals& g) : g_(g) {}
  std::string_view name() const override { return "vm"; }

  Status load(runtime::Creation& c) override;
  Status prepare(runtime::Creation& c) override;
  Status spawn(runtime::Creation& c) override;
  std::optional<spec::Resources> host_resources(const runtime::Creation& c) const override;
  Status complete(runtime::Creation& c) override;
  Error why_failed(runtime::Creation& c, Error ours) noexcept override;
  Status hand_over(runtime::Creation& c, runtime::Launched& out) override;
  void undo(runtime::Creation& c) noexcept override;

  Status start(const runtime::StateStore& store, const runtime::Stored& s, runtime::Launched* l) override;
  Result<int> wait(runtime::Launched& l, runtime::SignalBlock& signals) override;
  Result<int> exec(const runtime::StateStore& store, const runtime::Stored& s, spec::ContainerStatus st,
                   const runtime::ExecOptions& o) override;
  Status signal(const runtime::StateStore& store, const runtime::Stored& s, spec::ContainerStatus st, int sig,
                bool all) override;
  Status update(const runtime::StateStore& store, const runtime::Stored& s, const spec::Resources& r) override;
  void on_delete(const runtime::Stored& s) noexcept override;

 private:
  // One boot attempt of the held VMM in c.child: released, restored or booted, told its plan,
  // until the agent says "ready".
  Status boot(runtime::Creation& c, const VmPlan& plan, bool restore);
  // boot(), then its fallbacks: a template that does not restore boots cold, a /dev/kvm that
  // cannot run the guest falls back to TCG.
  Status boot_with_fallbacks(runtime::Creation& c);
  // A new VMM for plan, held; it replaces c.child (killed) and joins the container's cgroup.
  Status respawn(runtime::Creation& c, const VmPlan& plan, bool restore);
  Result<VmmProcess> spawn_held(const runtime::Creation& c, const VmPlan& plan, bool restore);
  // Deadlines of a boot's steps (each timeout names its step).
  struct Deadlines {
    int vmm_socket_ms, monitor_ms, ready_ms, started_ms;
  };
  static Deadlines deadlines(bool kvm);
  Status restore_template(runtime::Creation& c, const Deadlines& d);
  std::string plan_frame(const std::string& id);
  // kill, kill --all and update go to the agent, which applies them to the guest's container.
  Status command(const runtime::StateStore& store, const runtime::Stored& s, FrameType type,
                 const std::string& payload);
  static bool relay_input(int from, int port);
  // Where an exec's session reads its input and writes the output, and the terminal whose size
  // it relays (-1: none).
  struct ExecIo {
    int in, out, err, size;
  };
  static Result<int> relay_exec(FrameChannel& ch, runtime::SignalBlock& signals, ExecIo io);
  static int run_exec_standin(FrameChannel& ch, runtime::SignalBlock& signals, const std::string& slave);
  // The config's network namespace's interfaces, carried into the guest (vm/vmm/network.h); what
  // delete needs to undo it is in <state dir>/network.
  Status attach_network(runtime::Creation& c);
  Status watch_terminal_size(runtime::Creation& c);
  // tty's size as a resize frame on port; false when it has none (0 rows) or the send failed.
  static bool send_window_size(int port, int tty);

  // A spare of the pool (vm/pool/pool.h), taken in prepare when the plan fits one and one is
  // ready; then spawn adopts its VMM, and complete hands it the container (boot_spare) instead of
  // restoring the template. A spare that fails to take its plan is dropped for a restore.
  Status take_spare(runtime::Creation& c, const VmPlan& restore_plan);
  // In spawn: the spare's priority back to normal, the container's 9p helpers on its sockets,
  // and the plan sent. In complete (boot_spare): the keeper and helpers join the container's
  // cgroup (the core has put the VMM there), then "ready".
  Status start_spare(runtime::Creation& c);
  Status boot_spare(runtime::Creation& c);
  Status serve_spare_shares();
  Status send_plan(runtime::Creation& c);
  // Kills a spare that did not take its plan and removes what it left in the state dir.
  void drop_spare(runtime::Creation& c) noexcept;
  // The spare failed before the container was in it: dropped; the template's path follows.
  void give_up_spare(runtime::Creation& c, const Error& why) noexcept;
  // A new spare behind this create, for the next VM container of its size.
  void refill_pool() noexcept;
  // After the plan went: waits for "ready" (step names what booted, for the debug line).
  Status await_ready(runtime::Creation& c, const VmPlan& plan, int64_t t0, const std::string& how);

  const runtime::Globals& g_;
  GuestPlan gp_;
  VmPlan plan_;                         // the cold boot's plan
  std::optional<VmPlan> restore_plan_;  // the template's, when one fits
  std::optional<Template> template_;
  UniqueFd tty_master_;
  std::vector<UniqueFd> taps_;       // the NICs' backends, passed to every VMM this create starts
  std::vector<std::string> joined_;  // interfaces of gp_.host_netns that carry a redirect
  UniqueFd ctl_;
  std::optional<FrameChannel> ctl_frames_;  // one reader for every frame of ctl_ (none is lost)
  std::string log_path_;
  VmmProcess vmm_;  // the VMM of this create (the container's: the core kills it on undo)
  std::optional<ClaimedSpare> spare_;
  std::string empty_dir_;              // what a template's unused share slots serve
  UniqueFd spare_vmm_, spare_keeper_;  // pidfds of a taken spare's VMM and keeper (its output's relay)
  std::vector<pid_t> spare_helpers_;   // the container's 9p helpers on the spare's sockets
};

std::unique_ptr<runtime::Backend> make_vm_backend(const runtime::Globals& g);

}  // namespace ocelot::vm
