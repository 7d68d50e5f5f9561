// The command table: one entry per runc command, each implemented in its own cmd_*.cc file.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "cli/flags.h"
#include "isolation/registry.h"
#include "runtime/options.h"

namespace ocelot::cli {

struct Context {
  runtime::Globals globals;
  bool debug = false;
  std::string isolation;  // --isolation, or "vm" when invoked as ocelot-vm; "" = not asked
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
OCELOT_COMMAND(cmd_checkpoint);
OCELOT_COMMAND(cmd_restore);
OCELOT_COMMAND(cmd_vm_pool);

}  // namespace ocelot::cli
