#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_state) {
  auto id = OCL_TRY(one_id(f, "state"));
  auto s = OCL_TRY(runtime::container_state(ctx.globals, id));
  print(spec::state_to_cli_json(s) + "\n");
  return 0;
}

}  // namespace ocelot::cli
