// ocelot compare: the bundle as a container, as a VM (and under runc/crun with --with), measured
// on this host; compare/ does the work, this file parses flags, shows progress and prints.
#include <unistd.h>

#include <cstdio>

#include "base/fs.h"
#include "cli/commands.h"
#include "cli/numbers.h"
#include "compare/measure.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_compare) {
  if (f.args.size() != 1)
    return Error::make("compare: expected one bundle directory, got " + std::to_string(f.args.size()));
  compare::Options o;
  o.bundle = f.args[0];
  std::string format = f.get("format", "table");
  if (format != "table" && format != "markdown" && format != "json")
    return Error::make("compare: invalid format " + quote(format) + ": expected table, markdown or json");
  auto int_flag = [&](const char* name, int def, int lo, int hi) -> Result<int> {
    if (!f.has(name)) return def;
    std::string v = f.get(name);
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || n < lo || n > hi)
      return Error::make(std::string("compare: --") + name + " " + quote(v) + ": expected a number from " +
                         std::to_string(lo) + " to " + std::to_string(hi));
    return static_cast<int>(n);
  };
  o.runs = OCL_TRY(int_flag("runs", 3, 1, 1000));
  o.timeout_s = OCL_TRY(int_flag("timeout", 120, 1, 86400));
  if (f.has("with")) o.with = f.values.at("with");
  o.vm_template = ctx.globals.vm_template;
  std::string chart = f.get("chart");
  bool tty = ::isatty(2);
  // Progress on stderr (a TCG comparison takes a while); stdout is the report only.
  o.progress = [tty](int done, int total) {
    std::fprintf(stderr, "%socelot compare: %d of %d runs done%s", tty ? "\r" : "", done, total,
                 tty && done < total ? "" : "\n");
    std::fflush(stderr);
  };
  auto report = OCL_TRY(compare::run_compare(o));
  if (!chart.empty()) OCL_CHECK_CTX(fs::write_file(chart, compare::render_svg(report), 0644), "write the chart");
  print(format == "json" ? compare::render_json(report) : compare::render_table(report, format == "markdown"));
  return 0;
}

}  // namespace ocelot::cli
