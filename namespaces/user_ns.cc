#include "namespaces/user_ns.h"

#include <unistd.h>

#include "base/fs.h"

namespace ocelot::ns {

std::string id_map_text(const std::vector<spec::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  return out;
}

Status write_id_maps_in_parent(pid_t pid, const spec::Linux& l) {
  std::string base = "/proc/" + std::to_string(pid);
  // user_namespaces(7): an unprivileged writer of gid_map must first deny setgroups.
  if (::geteuid() != 0) OCL_CHECK(fs::write_existing(base + "/setgroups", "deny"));
  OCL_CHECK_CTX(fs::write_existing(base + "/uid_map", id_map_text(l.uid_mappings)), "write uid mappings");
  OCL_CHECK_CTX(fs::write_existing(base + "/gid_map", id_map_text(l.gid_mappings)), "write gid mappings");
  return ok();
}

}  // namespace ocelot::ns
