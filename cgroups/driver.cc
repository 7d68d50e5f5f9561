#include "cgroups/driver.h"

#include "cgroups/systemd.h"

namespace ocelot::cgroups {

const char* driver_name(Driver d) { return d == Driver::systemd ? "systemd" : "cgroupfs"; }

std::optional<Driver> parse_driver(std::string_view name) {
  if (name == "cgroupfs") return Driver::cgroupfs;
  if (name == "systemd") return Driver::systemd;
  return std::nullopt;
}

Result<std::unique_ptr<Manager>> make_manager(Driver d, const Layout& layout, const Paths& paths,
                                              const DriverOptions& o) {
  if (d == Driver::cgroupfs) return make_fs_manager(layout, paths);
  return make_systemd_manager(layout, paths, o.systemd_helper, o.description);
}

}  // namespace ocelot::cgroups
