#include "cli/commands.h"
#include "cli/table.h"
#include "vm/pool/pool.h"

namespace ocelot::cli {

// The pool of warmed VM guests under this --root (vm/pool/pool.h):
//   status  each spare: its template (size class), state (warming, ready, in use, gone), keeper
//           pid and age
//   stop    stops every spare that no container has taken
//   wait    returns once no spare is warming (a benchmark's step between runs)
OCELOT_COMMAND(cmd_vm_pool) {
  if (f.args.size() != 1) return Error::make("vm-pool: expected one of status, stop, wait");
  std::string pool = vm::pool_dir(ctx.globals.root);
  const std::string& what = f.args[0];
  if (what == "status") {
    std::vector<std::vector<std::string>> rows = {{"TEMPLATE", "STATE", "KEEPER", "AGE"}};
    for (const auto& s : vm::list_spares(pool))
      rows.push_back({s.template_name, s.state, std::to_string(s.keeper), std::to_string(s.age_s) + "s"});
    print(tabwrite(rows, 12, 1));
    return 0;
  }
  if (what == "stop") {
    int n = OCL_TRY(vm::stop_spares(pool));
    print("stopped " + std::to_string(n) + " spare" + (n == 1 ? "" : "s") + "\n");
    return 0;
  }
  if (what == "wait") {
    OCL_CHECK(vm::wait_for_spares(pool, 300000));
    return 0;
  }
  return Error::make("vm-pool: unknown action " + quote(what) + ": expected status, stop or wait");
}

}  // namespace ocelot::cli
