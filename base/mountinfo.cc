#include "base/mountinfo.h"

namespace ocelot {

static std::string unescape_octal(std::string_view raw) {
  std::string out;
  for (size_t k = 0; k < raw.size(); ++k) {
    if (raw[k] == '\\' && k + 3 < raw.size()) {
      out += static_cast<char>((raw[k + 1] - '0') * 64 + (raw[k + 2] - '0') * 8 + (raw[k + 3] - '0'));
      k += 3;
    } else {
      out += raw[k];
    }
  }
  return out;
}

static std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::vector<MountInfoEntry> parse_mountinfo(std::string_view text) {
  // id parent maj:min root mount-point options [optional fields...] - fstype source super-options
  std::vector<MountInfoEntry> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto f = fields(line);
    if (f.size() < 7) continue;
    MountInfoEntry e;
    e.root = unescape_octal(f[3]);
    e.mount_point = unescape_octal(f[4]);
    size_t k = 6;
    for (; k < f.size() && f[k] != "-"; ++k) {
      if (!e.optional.empty()) e.optional += ' ';
      e.optional += f[k];
    }
    if (k + 1 < f.size()) e.fstype = f[k + 1];
    if (k + 2 < f.size()) e.source = unescape_octal(f[k + 2]);
    if (k + 3 < f.size()) e.super_options = f[k + 3];
    out.push_back(std::move(e));
  }
  return out;
}

static bool holds(const std::string& mount_point, const std::string& path) {
  if (mount_point == "/") return !path.empty() && path[0] == '/';
  return path == mount_point || path.rfind(mount_point + "/", 0) == 0;
}

std::optional<MountInfoEntry> mount_holding(const std::vector<MountInfoEntry>& mounts, const std::string& path) {
  std::optional<MountInfoEntry> best;
  for (const auto& m : mounts)
    if (holds(m.mount_point, path) && (!best || m.mount_point.size() >= best->mount_point.size())) best = m;
  return best;
}

}  // namespace ocelot
