#include "base/strings.h"

namespace ocelot {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (size_t i = 0;;) {
    size_t j = s.find(sep, i);
    out.emplace_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) return out;
    i = j + 1;
  }
}

}  // namespace ocelot
