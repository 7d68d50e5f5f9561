#include "base/log.h"

#include <time.h>

#include <cstdio>

namespace ocelot::log {

static Sink g_sink = nullptr;
static bool g_debug = false;

void set_sink(Sink s, bool debug) {
  g_sink = s;
  g_debug = debug;
}
bool debug_enabled() { return g_sink && g_debug; }
void write(Level l, std::string_view msg) {
  if (g_sink) g_sink(l, msg);
}

void step(std::string_view what) {
  if (!debug_enabled()) return;
  // Process start time from /proc would cost a read; CLOCK_PROCESS_CPUTIME_ID is not wall time.
  // The first step is taken at main's start (cli/), so times are relative to that.
  static timespec first{};
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  if (first.tv_sec == 0 && first.tv_nsec == 0) first = now;
  double ms = double(now.tv_sec - first.tv_sec) * 1e3 + double(now.tv_nsec - first.tv_nsec) / 1e6;
  char line[160];
  std::snprintf(line, sizeof line, "timing: %.*s at %.3f ms", int(what.size()), what.data(), ms);
  write(Level::debug, line);
}

}  // namespace ocelot::log
