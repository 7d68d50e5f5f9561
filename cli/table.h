// Go's text/tabwriter as runc uses it for `list` and `ps`: each column but the last padded to
// max(minwidth, widest cell + padding) with spaces.
#pragma once

#include <string>
#include <vector>

namespace ocelot::cli {

std::string tabwrite(const std::vector<std::vector<std::string>>& rows, size_t minwidth, size_t padding);

}  // namespace ocelot::cli
