// Which cgroup hierarchies a host has and which controller lives where: cgroup v1, cgroup v2, or a
// hybrid of both (v1 hierarchies plus a cgroup2 mount holding the controllers v1 does not bind, as on
// this project's development machine). Parsed from /proc/self/mountinfo text so it is testable with
// sample texts; knows nothing of containers.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "base/error.h"

namespace ocelot::cgroups {

enum class Mode { v1, v2, hybrid };
const char* mode_name(Mode m);

struct Hierarchy {
  enum Kind { none, v1, v2 };
  std::string mount_point;  // /sys/fs/cgroup/cpu,cpuacct
  std::string root;         // the cgroup this mount shows as its root (mountinfo field 4)
};

struct Layout {
  Mode mode = Mode::v2;
  std::map<std::string, Hierarchy> v1;  // controller ("memory", "name=systemd") -> hierarchy
  std::string v2_mount;                 // cgroup2 mount point, empty if none
  std::string v2_root = "/";
  std::set<std::string> v2_controllers;  // controllers usable through the cgroup2 mount

  // The hierarchy that drives controller c.
  Hierarchy::Kind where(const std::string& c) const;
};

// mountinfo: /proc/self/mountinfo text; v2_controllers: the cgroup2 root's cgroup.controllers text.
Result<Layout> parse_layout(std::string_view mountinfo, std::string_view v2_controllers);
Result<Layout> detect_layout();

// /proc/self/cgroup text -> controller -> path ("" key for the v2 line).
std::map<std::string, std::string> parse_proc_cgroup(std::string_view text);

}  // namespace ocelot::cgroups
