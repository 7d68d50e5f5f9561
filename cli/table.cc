#include "cli/table.h"

#include <algorithm>

namespace ocelot::cli {

std::string tabwrite(const std::vector<std::vector<std::string>>& rows, size_t minwidth, size_t padding) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (width.size() <= i) width.resize(i + 1, 0);
      width[i] = std::max(width[i], std::max(minwidth, r[i].size() + padding));
    }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out.append(width[i] - r[i].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace ocelot::cli
