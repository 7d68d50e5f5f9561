#include <thread>

#include <nlohmann/json.hpp>

#include "cgroups/stats.h"
#include "cli/commands.h"
#include "cli/numbers.h"
#include "runtime/state_store.h"

namespace ocelot::cli {

static std::string stats_event(const std::string& id, const cgroups::Stats& s) {
  nlohmann::ordered_json d;
  d["cpu"] = {{"usage", {{"total", s.cpu_total_ns}, {"kernel", s.cpu_kernel_ns}, {"user", s.cpu_user_ns}}}};
  d["memory"] = {{"usage", {{"limit", s.mem_limit}, {"usage", s.mem_usage}, {"max", s.mem_max}, {"failcnt", s.mem_failcnt}}},
                 {"raw", s.mem_raw}};
  d["pids"] = {{"current", s.pids_current}, {"limit", s.pids_limit}};
  nlohmann::ordered_json e = {{"type", "stats"}, {"id", id}, {"data", d}};
  return e.dump() + "\n";
}

OCELOT_COMMAND(cmd_events) {
  auto id = OCL_TRY(one_id(f, "events"));
  long long interval = OCL_TRY(parse_duration_ms(f.get("interval", "5s")));
  if (interval <= 0) return Error::make("events: --interval must be greater than 0");
  runtime::StateStore store(ctx.globals.root);
  auto s = OCL_TRY(store.load(id));
  auto layout = OCL_TRY(cgroups::detect_layout());
  cgroups::Manager m(layout, s.cgroup_paths);
  if (f.on("stats")) {
    print(stats_event(id, cgroups::read_stats(m)));
    return 0;
  }
  // Stream: stats every interval, an "oom" event as soon as the OOM-kill counter moves.
  uint64_t ooms = cgroups::read_stats(m).oom_kills;
  long long since = 0;
  for (;;) {
    if (runtime::container_status(store, s) == "stopped") return 0;
    auto st = cgroups::read_stats(m);
    if (st.oom_kills > ooms) {
      ooms = st.oom_kills;
      print(nlohmann::ordered_json({{"type", "oom"}, {"id", id}}).dump() + "\n");
    }
    if (since <= 0) {
      print(stats_event(id, st));
      since = interval;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    since -= 100;
  }
}

}  // namespace ocelot::cli
