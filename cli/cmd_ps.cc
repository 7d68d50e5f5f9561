#include <cstdio>
#include <set>
#include <sstream>

#include "cli/commands.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_ps) {
  if (f.args.empty()) return Error::make("ps: container id cannot be empty");
  std::string format = f.get("format", "table");
  if (format != "table" && format != "json")
    return Error::make("ps: invalid format \"" + format + "\": expected table or json");
  auto pids = OCL_TRY(OCL_TRY(isolation::for_container(ctx.globals, f.args[0]))->pids(f.args[0]));
  if (format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < pids.size(); ++i) out += (i ? "," : "") + std::to_string(pids[i]);
    print(out + "]\n");
    return 0;
  }
  // As runc: run the host's ps with the given options (default -ef) and keep our pids' lines.
  std::string cmd = "ps";
  std::vector<std::string> ps_args(f.args.begin() + 1, f.args.end());
  if (ps_args.empty()) ps_args = {"-ef"};
  for (const auto& a : ps_args) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " " + q + "'";
  }
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return Error::last("run ps");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) return Error::make("ps " + ps_args[0] + " failed with status " + std::to_string(rc));
  std::istringstream in(out);
  std::string header;
  std::getline(in, header);
  std::istringstream hs(header);
  std::string col;
  int idx = -1, k = 0;
  while (hs >> col) {
    if (col == "PID") idx = k;
    ++k;
  }
  if (idx < 0) return Error::make("ps: couldn't find PID field in ps output");
  std::set<pid_t> want(pids.begin(), pids.end());
  std::string result = header + "\n";
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string field;
    for (int i = 0; i <= idx && ls >> field; ++i) {
    }
    if (!field.empty() && want.count(std::atoi(field.c_str()))) result += line + "\n";
  }
  print(result);
  return 0;
}

}  // namespace ocelot::cli
