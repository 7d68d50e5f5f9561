#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_pause) {
  auto id = OCL_TRY(one_id(f, "pause"));
  OCL_CHECK(OCL_TRY(isolation::for_container(ctx.globals, id))->pause(id));
  return 0;
}

}  // namespace ocelot::cli
