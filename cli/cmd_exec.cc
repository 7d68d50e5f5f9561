#include "cli/commands.h"
#include "cli/logging.h"
#include "cli/numbers.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_exec) {
  runtime::ExecOptions o;
  if (f.args.empty()) return Error::make("exec: container id cannot be empty");
  o.id = f.args[0];
  o.args.assign(f.args.begin() + 1, f.args.end());
  o.process_file = f.get("process");
  if (o.process_file.empty() && o.args.empty()) return Error::make("exec: no command given (need args or --process)");
  o.env = f.all("env");
  o.cwd = f.get("cwd");
  o.user = f.get("user");
  for (const auto& g : f.all("additional-gids"))
    o.additional_gids.push_back(static_cast<uint32_t>(OCL_TRY(parse_int("additional-gids", g, 0, 2147483647))));
  o.caps = f.all("cap");
  o.tty = f.on("tty");
  o.tty_set = f.has("tty");
  o.detach = f.on("detach");
  o.no_new_privs = f.on("no-new-privs");
  o.ignore_paused = f.on("ignore-paused");
  o.console_socket = f.get("console-socket");
  o.pid_file = f.get("pid-file");
  o.apparmor = f.get("apparmor");
  o.process_label = f.get("process-label");
  if (f.has("preserve-fds"))
    o.preserve_fds = static_cast<int>(OCL_TRY(parse_int("preserve-fds", f.get("preserve-fds"), 0, 65536)));
  if (f.has("cgroup")) return Error::make("exec: --cgroup is not supported yet");
  auto r = OCL_TRY(isolation::for_container(ctx.globals, o.id))->exec(o);
  if (r) return r;
  // As runc: a process that could not be started is "exec failed: ...", exit status 255 (callers
  // tell it from the process's own exit status this way, and map the words to 126/127).
  report_error("exec failed: " + r.error().msg);
  return 255;
}

}  // namespace ocelot::cli
