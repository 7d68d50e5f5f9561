#include "cli/commands.h"
#include "vm/vm_container.h"

namespace ocelot::cli {

Result<runtime::CreateOptions> create_options(const Flags& f, const char* command);

OCELOT_COMMAND(cmd_run) {
  auto o = OCL_TRY(create_options(f, "run"));
  if (ctx.vm || vm::bundle_wants_vm(o.bundle)) return vm::vm_run(ctx.globals, o, {ctx.vm_kernel}, f.on("detach"), f.on("keep"));
  return runtime::run_container(ctx.globals, o, f.on("detach"), f.on("keep"));
}

}  // namespace ocelot::cli
