#include <charconv>

#include "cli/commands.h"
#include "vm/vm_container.h"

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
  for (const auto& g : f.all("additional-gids")) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(g.data(), g.data() + g.size(), v);
    if (ec != std::errc() || p != g.data() + g.size()) return Error::make("--additional-gids: expected a number, got \"" + g + "\"");
    o.additional_gids.push_back(v);
  }
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
  if (f.has("preserve-fds")) o.preserve_fds = std::atoi(f.get("preserve-fds").c_str());
  if (f.has("cgroup")) return Error::make("exec: --cgroup is not supported yet");
  if (vm::is_vm_container(ctx.globals, o.id)) return vm::vm_exec(ctx.globals, o);
  return runtime::exec_in_container(ctx.globals, o);
}

}  // namespace ocelot::cli
