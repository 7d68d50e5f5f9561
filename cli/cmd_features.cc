#include "cli/commands.h"
#include "isolation/features.h"

namespace ocelot::cli {

// runtime-spec features.md: only what ocelot really does.
OCELOT_COMMAND(cmd_features) {
  (void)f;
  print(isolation::features_json(ctx.globals.criu) + "\n");
  return 0;
}

}  // namespace ocelot::cli
