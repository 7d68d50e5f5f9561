#include "cli/commands.h"
#include "cli/numbers.h"

namespace ocelot::cli {

Result<runtime::CreateOptions> create_options(const Flags& f, const char* command) {
  runtime::CreateOptions o;
  o.id = OCL_TRY(one_id(f, command));
  o.bundle = f.get("bundle", ".");
  o.pid_file = f.get("pid-file");
  o.console_socket = f.get("console-socket");
  o.no_pivot = f.on("no-pivot");
  o.no_new_keyring = f.on("no-new-keyring");
  if (f.has("preserve-fds"))
    o.preserve_fds = static_cast<int>(OCL_TRY(parse_int("preserve-fds", f.get("preserve-fds"), 0, 65536)));
  return o;
}

OCELOT_COMMAND(cmd_create) {
  auto o = OCL_TRY(create_options(f, "create"));
  OCL_CHECK(OCL_TRY(isolation::for_bundle(ctx.globals, ctx.isolation, o))->create(o));
  return 0;
}

}  // namespace ocelot::cli
