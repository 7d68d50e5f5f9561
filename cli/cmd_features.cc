#include "cli/commands.h"
#include "isolation/features.h"

namespace ocelot::cli {

// runtime-spec features.md: only what ocelot really does.
OCELOT_COMMAND(cmd_features) {
  (void)ctx;
  (void)f;
  print(isolation::features_json() + "\n");
  return 0;
}

}  // namespace ocelot::cli
