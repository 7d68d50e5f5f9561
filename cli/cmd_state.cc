#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_state) {
  auto id = OCL_TRY(one_id(f, "state"));
  auto s = OCL_TRY(OCL_TRY(isolation::for_container(ctx.globals, id))->state(id));
  print(spec::state_to_cli_json(s) + "\n");
  return 0;
}

}  // namespace ocelot::cli
