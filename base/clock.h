// CLOCK_MONOTONIC in milliseconds: deadlines and durations (never the wall clock, which jumps).
#pragma once

#include <time.h>

#include <cstdint>

namespace ocelot {

inline int64_t monotonic_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// With the sub-millisecond part, for measurements.
inline double monotonic_ms_exact() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace ocelot
