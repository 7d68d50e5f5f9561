#include "cgroups/layout.h"

#include <optional>
#include <sstream>
#include <vector>

#include "base/fs.h"
#include "base/mountinfo.h"

namespace ocelot::cgroups {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::v1: return "v1";
    case Mode::v2: return "v2";
    case Mode::hybrid: return "hybrid";
  }
  return "?";
}

Hierarchy::Kind Layout::where(const std::string& c) const {
  if (v1.count(c)) return Hierarchy::v1;
  if (!v2_mount.empty() && v2_controllers.count(c)) return Hierarchy::v2;
  return Hierarchy::none;
}

static std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) j = s.size();
    out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Result<Layout> parse_layout(std::string_view mountinfo, std::string_view v2_controllers) {
  Layout l;
  for (const auto& m : parse_mountinfo(mountinfo)) {
    if (m.fstype == "cgroup2") {
      if (l.v2_mount.empty()) {
        l.v2_mount = m.mount_point;
        l.v2_root = m.root;
      }
    } else if (m.fstype == "cgroup") {
      for (const auto& opt : split(m.super_options, ',')) {
        static const std::set<std::string> skip = {"rw",      "ro",     "relatime",       "noatime", "nosuid",
                                                   "nodev",   "noexec", "clone_children", "xattr",   "cpuset_v2_mode",
                                                   "noprefix"};
        if (opt.empty() || skip.count(opt) || opt.rfind("release_agent=", 0) == 0) continue;
        if (!l.v1.count(opt)) l.v1[opt] = Hierarchy{m.mount_point, m.root};
      }
    }
  }
  for (const auto& c : split(v2_controllers, ' ')) {
    std::string t = c;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (!t.empty() && !l.v1.count(t)) l.v2_controllers.insert(t);
  }
  bool has_v1 = false;
  for (auto& [c, h] : l.v1)
    if (c.rfind("name=", 0) != 0) has_v1 = true;
  if (has_v1 && !l.v2_mount.empty())
    l.mode = Mode::hybrid;
  else if (has_v1)
    l.mode = Mode::v1;
  else if (!l.v2_mount.empty())
    l.mode = Mode::v2;
  else
    return Error::make("no cgroup hierarchy is mounted");
  return l;
}

Result<Layout> detect_layout() {
  // One ocelot process sees one host: detect once (run = create + start + delete).
  static std::optional<Layout> cached;
  if (cached) return *cached;
  auto mi = fs::read_file("/proc/self/mountinfo");
  if (!mi) return std::move(mi).error();
  // Find the cgroup2 mount first to read its controllers.
  auto l = parse_layout(*mi, "");
  if (!l) return l;
  if (l->v2_mount.empty()) {
    cached = *l;
    return l;
  }
  auto ctl = fs::read_file(fs::join(l->v2_mount, "cgroup.controllers"));
  auto full = parse_layout(*mi, ctl ? *ctl : "");
  if (full) cached = *full;
  return full;
}

std::map<std::string, std::string> parse_proc_cgroup(std::string_view text) {
  std::map<std::string, std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (ctls.empty()) {
      out[""] = path;
      continue;
    }
    for (const auto& c : split(ctls, ',')) out[c] = path;
  }
  return out;
}

}  // namespace ocelot::cgroups
