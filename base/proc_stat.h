// /proc/<pid>/stat, parsed once for every layer: the fields ocelot reads (state, flags, start
// time). comm may hold spaces and parentheses: the fields start after its last ')'.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace ocelot {

struct ProcStat {
  char state = '?';         // field 3: R, S, D, Z, X, ...
  unsigned long flags = 0;  // field 9: PF_* (PF_EXITING 0x4)
  uint64_t start = 0;       // field 22: start time in clock ticks since boot
};

// Pure: one stat line's text.
Result<ProcStat> parse_proc_stat(std::string_view text);
Result<ProcStat> read_proc_stat(pid_t pid);

}  // namespace ocelot
