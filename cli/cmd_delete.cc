#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_delete) {
  auto id = OCL_TRY(one_id(f, "delete"));
  OCL_CHECK(OCL_TRY(isolation::for_container(ctx.globals, id))->remove(id, f.on("force")));
  return 0;
}

}  // namespace ocelot::cli
