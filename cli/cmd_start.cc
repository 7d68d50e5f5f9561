#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_start) {
  auto id = OCL_TRY(one_id(f, "start"));
  OCL_CHECK(OCL_TRY(isolation::for_container(ctx.globals, id))->start(id));
  return 0;
}

}  // namespace ocelot::cli
