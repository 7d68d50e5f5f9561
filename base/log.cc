#include "base/log.h"

namespace ocelot::log {

static Sink g_sink = nullptr;

void set_sink(Sink s) { g_sink = s; }
void write(Level l, std::string_view msg) {
  if (g_sink) g_sink(l, msg);
}

}  // namespace ocelot::log
