#include "cgroups/paths.h"

#include "base/fs.h"
#include "base/log.h"

namespace ocelot::cgroups {

Result<std::string> systemd_to_cgroupfs(const std::string& path) {
  auto a = path.find(':');
  auto b = path.find(':', a + 1);
  if (a == std::string::npos || b == std::string::npos || path.find(':', b + 1) != std::string::npos)
    return Error::make("cgroupsPath \"" + path + "\": expected \"slice:prefix:name\"");
  std::string slice = path.substr(0, a), prefix = path.substr(a + 1, b - a - 1), name = path.substr(b + 1);
  if (name.empty()) return Error::make("cgroupsPath \"" + path + "\": the name part is empty");
  if (slice.empty()) slice = "system.slice";
  if (slice.size() < 7 || slice.substr(slice.size() - 6) != ".slice")
    return Error::make("cgroupsPath \"" + path + "\": \"" + slice + "\" is not a slice");
  // "a-b-c.slice" lives at a.slice/a-b.slice/a-b-c.slice.
  std::string out;
  std::string stem = slice.substr(0, slice.size() - 6);
  if (stem != "-") {
    size_t i = 0;
    for (;;) {
      size_t j = stem.find('-', i);
      out += "/" + stem.substr(0, j == std::string::npos ? stem.size() : j) + ".slice";
      if (j == std::string::npos) break;
      i = j + 1;
    }
  }
  std::string unit = name.size() > 6 && name.substr(name.size() - 6) == ".slice"
                         ? name
                         : (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  return out + "/" + unit;
}

// The caller's own cgroup path relative to a mount's root.
static std::string own_rel(const std::string& own_path, const std::string& mount_root) {
  if (mount_root == "/" || own_path.rfind(mount_root, 0) != 0) return own_path;
  std::string rest = own_path.substr(mount_root.size());
  return rest.empty() ? "/" : rest;
}

Paths own_paths(const Layout& l, const std::map<std::string, std::string>& own) {
  Paths out;
  for (const auto& [ctl, h] : l.v1) {
    auto it = own.find(ctl);
    out.v1[ctl] = fs::clean_abs(fs::join(h.mount_point, it == own.end() ? "/" : own_rel(it->second, h.root)));
  }
  if (!l.v2_mount.empty()) {
    auto it = own.find("");
    out.v2 = fs::clean_abs(fs::join(l.v2_mount, it == own.end() ? "/" : own_rel(it->second, l.v2_root)));
  }
  return out;
}

Result<Paths> resolve_paths(const Layout& l, const std::string& cgroups_path, const std::string& id,
                            const std::map<std::string, std::string>& own, bool systemd_driver) {
  std::string p = cgroups_path;
  bool relative = false;
  if (p.empty()) {
    p = "/ocelot/" + id;
  } else if (p.find(':') != std::string::npos) {
    p = OCL_TRY(systemd_to_cgroupfs(p));
    if (!systemd_driver)
      log::warn("cgroupsPath \"" + cgroups_path +
                "\" is a systemd unit and systemd is not managing cgroups here (no --systemd-cgroup); using "
                "cgroupfs path \"" +
                p + "\"");
  } else if (p[0] != '/') {
    relative = true;
  }
  if (fs::clean_abs("/" + p) != "/" + std::string(p[0] == '/' ? p.substr(1) : p) && p.find("..") != std::string::npos)
    return Error::make("cgroupsPath \"" + cgroups_path + "\": must not contain \"..\"");
  Paths out;
  for (const auto& [ctl, h] : l.v1) {
    std::string base = "/";
    if (relative) {
      auto it = own.find(ctl);
      if (it != own.end()) base = own_rel(it->second, h.root);
    }
    out.v1[ctl] = fs::clean_abs(fs::join(fs::join(h.mount_point, base), p));
  }
  if (!l.v2_mount.empty()) {
    std::string base = "/";
    if (relative) {
      auto it = own.find("");
      if (it != own.end()) base = own_rel(it->second, l.v2_root);
      // On a pure v2 host our own cgroup holds processes (us), so no child of it can have
      // controllers (the no-internal-process rule): relative paths hang off its parent, as runc's
      // fs2 driver does.
      if (l.mode == Mode::v2) base = fs::dirname(base);
    }
    out.v2 = fs::clean_abs(fs::join(fs::join(l.v2_mount, base), p));
  }
  // A path that lands on a hierarchy's root (also "." relative to a caller in the root cgroup)
  // would make every host process the container's: delete would kill them all.
  auto root_error = [&] {
    return Error::make("cgroupsPath \"" + cgroups_path +
                       "\": resolves to the root cgroup, which cannot be a container's cgroup");
  };
  for (const auto& [ctl, dir] : out.v1)
    if (dir == fs::clean_abs(l.v1.at(ctl).mount_point)) return root_error();
  if (!out.v2.empty() && out.v2 == fs::clean_abs(l.v2_mount)) return root_error();
  return out;
}

}  // namespace ocelot::cgroups
