// run = create + start (+ wait, forwarding signals, + delete unless --keep), in one process: the
// init is our own child, so its exit status comes straight from waitpid.
#include "base/log.h"
#include "runtime/container.h"
#include "runtime/state_store.h"
#include "runtime/supervise.h"

namespace ocelot::runtime {

Result<int> run_container(const Globals& g, const CreateOptions& o, bool detach, bool keep) {
  if (detach) {
    Launched l = OCL_TRY(create_container(g, o, LaunchMode::detached, /*start_follows=*/true));
    auto st = start_container(g, o.id, std::move(l.lock), l.record.get());
    if (!st) {
      (void)delete_container(g, o.id, true);
      return std::move(st).error();
    }
    return 0;
  }
  SignalBlock signals;
  Launched l = OCL_TRY(create_container(g, o, LaunchMode::foreground, /*start_follows=*/true));
  if (auto st = start_container(g, o.id, std::move(l.lock), l.record.get()); !st) {
    (void)delete_container(g, o.id, true);
    return std::move(st).error();
  }
  log::step("started");
  auto code = supervise(l.pid, l.console_master.valid() ? l.console_master.get() : -1, signals);
  log::step("init exited");
  if (!keep) {
    auto d = delete_container(g, o.id, true, l.record.get());
    log::step("deleted");
    if (!d && code) return std::move(d).error();
  }
  return code;
}

}  // namespace ocelot::runtime
