// Warnings and debug lines from below cli/. Lower layers never print: they call log::warn /
// log::debug, and cli/ installs the sink that writes them (text or JSON, to --log or stderr).
#pragma once

#include <string_view>

namespace ocelot::log {

enum class Level { debug, info, warn, error };
using Sink = void (*)(Level, std::string_view);

// debug: whether debug lines are wanted (cli/ says so); lets callers skip building them.
void set_sink(Sink s, bool debug = false);
bool debug_enabled();
// With --debug, one line "timing: STEP at T ms" (since the process started): where a start's
// time goes, without strace's distortion (bench/README.md).
void step(std::string_view what);
void write(Level l, std::string_view msg);
inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }

}  // namespace ocelot::log
