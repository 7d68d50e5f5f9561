// Per-command flags, parsed with cxxopts the way runc's (urfave/cli) parser accepts them: Go-style
// single-dash long names (-bundle), --flag=value, repeatable flags (-e A -e B), and for `exec` and
// `ps`, everything after the container id belongs to the workload, not to us.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"

namespace ocelot::cli {

struct FlagDef {
  enum Kind { Bool, Value, Multi };
  const char* name;
  const char* short_name;  // "" for none
  Kind kind;
  const char* help;
};

struct Flags {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> args;  // positional
  bool on(const std::string& n) const;
  bool has(const std::string& n) const { return values.count(n) > 0; }
  std::string get(const std::string& n, const std::string& def = "") const;
  std::vector<std::string> all(const std::string& n) const;
};

// args: what follows the command name. stop_after_first: the first positional and all after it
// are positional (exec ID CMD..., ps ID PSARGS...).
Result<Flags> parse_flags(const std::string& command, const std::vector<FlagDef>& defs,
                          const std::vector<std::string>& args, bool stop_after_first);
std::string flags_help(const std::string& command, const std::string& usage, const std::vector<FlagDef>& defs);

}  // namespace ocelot::cli
