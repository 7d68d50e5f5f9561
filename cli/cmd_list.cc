#include "cli/commands.h"
#include "cli/table.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_list) {
  std::string format = f.get("format", "table");
  if (format != "table" && format != "json")
    return Error::make("list: invalid format \"" + format + "\": expected table or json");
  auto states = OCL_TRY(runtime::list_containers(ctx.globals, format == "json" && !f.on("quiet")));
  if (f.on("quiet")) {
    for (const auto& s : states) print(s.id + "\n");
    return 0;
  }
  if (format == "json") {
    // runc encodes a nil slice as null.
    if (states.empty()) {
      print("null\n");
      return 0;
    }
    std::string out = "[";
    for (size_t i = 0; i < states.size(); ++i) out += (i ? "," : "") + spec::state_to_compact_json(states[i]);
    print(out + "]\n");
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& s : states)
    rows.push_back({s.id, std::to_string(s.pid), spec::status_name(s.status), s.bundle, s.created, s.owner});
  print(tabwrite(rows, 12, 3));
  return 0;
}

}  // namespace ocelot::cli
