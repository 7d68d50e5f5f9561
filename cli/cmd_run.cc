#include "cli/commands.h"

namespace ocelot::cli {

Result<runtime::CreateOptions> create_options(const Flags& f, const char* command);

OCELOT_COMMAND(cmd_run) {
  auto o = OCL_TRY(create_options(f, "run"));
  return OCL_TRY(isolation::for_bundle(ctx.globals, ctx.isolation, o))->run(o, f.on("detach"), f.on("keep"));
}

}  // namespace ocelot::cli
