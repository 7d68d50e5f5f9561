// Warnings and debug lines from below cli/. Lower layers never print: they call log::warn /
// log::debug, and cli/ installs the sink that writes them (text or JSON, to --log or stderr).
#pragma once

#include <string_view>

namespace ocelot::log {

enum class Level { debug, info, warn, error };
using Sink = void (*)(Level, std::string_view);

void set_sink(Sink s);
void write(Level l, std::string_view msg);
inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }

}  // namespace ocelot::log
