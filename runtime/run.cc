// run = create + start (+ wait, forwarding signals, + delete unless --keep), in one process: the
// init is our own child, so its exit status comes straight from waitpid.
#include "runtime/container.h"
#include "runtime/supervise.h"

namespace ocelot::runtime {

Result<int> run_container(const Globals& g, const CreateOptions& o, bool detach, bool keep) {
  if (detach) {
    (void)OCL_TRY(create_container(g, o, LaunchMode::detached));
    auto st = start_container(g, o.id);
    if (!st) {
      (void)delete_container(g, o.id, true);
      return std::move(st).error();
    }
    return 0;
  }
  SignalBlock signals;
  Launched l = OCL_TRY(create_container(g, o, LaunchMode::foreground));
  if (auto st = start_container(g, o.id); !st) {
    (void)delete_container(g, o.id, true);
    return std::move(st).error();
  }
  auto code = supervise(l.pid, l.console_master.valid() ? l.console_master.get() : -1, signals);
  if (!keep) {
    auto d = delete_container(g, o.id, true);
    if (!d && code) return std::move(d).error();
  }
  return code;
}

}  // namespace ocelot::runtime
