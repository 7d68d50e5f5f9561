// /proc/PID/mountinfo, parsed (pure): which mount holds a path, and how it propagates.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocelot {

struct MountInfoEntry {
  std::string root;  // the mounted directory of its filesystem; paths unescaped (\040 -> ' ')
  std::string mount_point;
  std::string optional;  // the optional fields: "shared:1 master:2", "" when private
  std::string fstype, source, super_options;
  bool shared() const { return optional.find("shared:") != std::string::npos; }
};

std::vector<MountInfoEntry> parse_mountinfo(std::string_view text);
// The mount that holds path: the longest mount point that is path or one of its parents; of
// mounts stacked on one point, the last listed (the one on top).
std::optional<MountInfoEntry> mount_holding(const std::vector<MountInfoEntry>& mounts, const std::string& path);

}  // namespace ocelot
