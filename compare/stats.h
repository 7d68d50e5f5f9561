// Distributions of repeated measurements (pure, unit-tested).
#pragma once

#include <cstddef>
#include <vector>

namespace ocelot::compare {

struct Dist {
  size_t n = 0;
  double min = 0, median = 0, p95 = 0;
  bool empty() const { return n == 0; }
};

// Median of the sorted samples (the mean of the middle two for an even count); p95 by the
// nearest-rank method (with fewer than 20 samples that is the largest).
Dist distribution(std::vector<double> samples);

}  // namespace ocelot::compare
