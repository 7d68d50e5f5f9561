#include "cli/commands.h"
#include "vm/vm_container.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_start) {
  auto id = OCL_TRY(one_id(f, "start"));
  if (vm::is_vm_container(ctx.globals, id)) {
    OCL_CHECK(vm::vm_start(ctx.globals, id));
    return 0;
  }
  OCL_CHECK(runtime::start_container(ctx.globals, id));
  return 0;
}

}  // namespace ocelot::cli
