#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/numbers.h"

namespace ocelot::cli {

static std::string stats_event(const std::string& id, const cgroups::Stats& s) {
  nlohmann::ordered_json d;
  d["cpu"] = {{"usage", {{"total", s.cpu_total_ns}, {"kernel", s.cpu_kernel_ns}, {"user", s.cpu_user_ns}}}};
  d["memory"] = {
      {"usage", {{"limit", s.mem_limit}, {"usage", s.mem_usage}, {"max", s.mem_max}, {"failcnt", s.mem_failcnt}}},
      {"raw", s.mem_raw}};
  d["pids"] = {{"current", s.pids_current}, {"limit", s.pids_limit}};
  nlohmann::ordered_json e = {{"type", "stats"}, {"id", id}, {"data", d}};
  return e.dump() + "\n";
}

OCELOT_COMMAND(cmd_events) {
  auto id = OCL_TRY(one_id(f, "events"));
  long long interval = OCL_TRY(parse_duration_ms(f.get("interval", "5s")));
  if (interval <= 0) return Error::make("events: --interval must be greater than 0");
  auto iso = OCL_TRY(isolation::for_container(ctx.globals, id));
  auto first = OCL_TRY(iso->stats(id));
  if (f.on("stats")) {
    print(stats_event(id, first));
    return 0;
  }
  // Stream: stats every interval, an "oom" event as soon as the OOM-kill counter moves. The
  // counter is read before the status, so that an OOM kill of the init itself (which is also what
  // stops the container) is reported before the stream ends.
  uint64_t ooms = first.oom_kills;
  long long since = 0;
  for (;;) {
    auto st = iso->stats(id);
    if (st && st->oom_kills > ooms) {
      ooms = st->oom_kills;
      print(nlohmann::ordered_json({{"type", "oom"}, {"id", id}}).dump() + "\n");
    }
    auto state = iso->state(id);
    if (!state || state->status == spec::ContainerStatus::stopped) return 0;
    if (since <= 0 && st) {
      print(stats_event(id, *st));
      since = interval;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    since -= 100;
  }
}

}  // namespace ocelot::cli
