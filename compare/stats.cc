#include "compare/stats.h"

#include <algorithm>
#include <cmath>

namespace ocelot::compare {

Dist distribution(std::vector<double> v) {
  Dist d;
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  d.n = v.size();
  d.min = v.front();
  d.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(v.size())));
  d.p95 = v[std::clamp<size_t>(rank, 1, v.size()) - 1];
  return d;
}

}  // namespace ocelot::compare
