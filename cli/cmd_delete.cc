#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_delete) {
  auto id = OCL_TRY(one_id(f, "delete"));
  OCL_CHECK(runtime::delete_container(ctx.globals, id, f.on("force")));
  return 0;
}

}  // namespace ocelot::cli
