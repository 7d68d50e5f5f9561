#include "cgroups/systemd.h"

namespace ocelot::cgroups {

Result<std::unique_ptr<Manager>> make_systemd_manager(const Layout&, const Paths&) {
  return Error::make("the systemd cgroup driver is not available in this build");
}

}  // namespace ocelot::cgroups
