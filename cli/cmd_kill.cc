#include "cli/commands.h"
#include "spec/names.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_kill) {
  if (f.args.empty()) return Error::make("kill: container id cannot be empty");
  if (f.args.size() > 2)
    return Error::make("kill: expected <container-id> [signal], got " + std::to_string(f.args.size()) + " arguments");
  // Signal 0 checks that the init is alive, as runc accepts it.
  std::string text = f.args.size() == 2 ? f.args[1] : "SIGTERM";
  int sig = text == "0" ? 0 : OCL_TRY(spec::parse_signal(text));
  OCL_CHECK(OCL_TRY(isolation::for_container(ctx.globals, f.args[0]))->kill(f.args[0], sig, f.on("all")));
  return 0;
}

}  // namespace ocelot::cli
