#include "runtime/base/error.h"

#include <cstring>

namespace ocelot {

std::string errno_name(int err) {
  const char* n = strerrorname_np(err);
  return n ? std::string(n) : "errno " + std::to_string(err);
}

Error Error::sys(int err, std::string_view what) {
  return Error{err, std::string(what) + ": " + errno_name(err)};
}

}  // namespace ocelot
