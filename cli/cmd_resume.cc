#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_resume) {
  auto id = OCL_TRY(one_id(f, "resume"));
  OCL_CHECK(OCL_TRY(isolation::for_container(ctx.globals, id))->resume(id));
  return 0;
}

}  // namespace ocelot::cli
