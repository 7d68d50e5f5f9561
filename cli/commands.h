// The command table: one entry per runc command, each implemented in its own cmd_*.cc file.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "cli/flags.h"
#include "runtime/isolation.h"
#include "vm/select.h"

namespace ocelot::cli {

struct Context {
  runtime::Globals globals;
  bool debug = false;
  vm::Requested isolation = vm::Requested::unset;  // --isolation, or invoked as ocelot-vm
};

struct Command {
  const char* name;
  const char* usage;
  const char* summary;
  std::vector<FlagDef> flags;
  bool stop_after_first;
  Result<int> (*run)(Context&, const Flags&);
};

const std::vector<Command>& commands();

// Shared by the command files.
Result<std::string> one_id(const Flags& f, const char* command);
void print(const std::string& s);  // to stdout, as is

#define OCELOT_COMMAND(fn) Result<int> fn(Context& ctx, const Flags& f)
OCELOT_COMMAND(cmd_create);
OCELOT_COMMAND(cmd_start);
OCELOT_COMMAND(cmd_run);
OCELOT_COMMAND(cmd_state);
OCELOT_COMMAND(cmd_list);
OCELOT_COMMAND(cmd_kill);
OCELOT_COMMAND(cmd_delete);
OCELOT_COMMAND(cmd_exec);
OCELOT_COMMAND(cmd_ps);
OCELOT_COMMAND(cmd_pause);
OCELOT_COMMAND(cmd_resume);
OCELOT_COMMAND(cmd_update);
OCELOT_COMMAND(cmd_events);
OCELOT_COMMAND(cmd_spec);
OCELOT_COMMAND(cmd_features);
OCELOT_COMMAND(cmd_compare);
OCELOT_COMMAND(cmd_unsupported);

}  // namespace ocelot::cli
