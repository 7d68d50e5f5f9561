#include "base/error.h"

#include <cstdio>
#include <cstring>

namespace ocelot {

std::string errno_name(int err) {
  const char* n = strerrorname_np(err);
  return n ? std::string(n) : "errno " + std::to_string(err);
}

std::string errno_text(int err) {
  // The words callers match on (podman and docker map "no such file or directory" and
  // "executable file not found" to 127, "permission denied" to 126), spelled as Go's syscall
  // errors are: strerror, lower case.
  char buf[128];
  const char* t = strerror_r(err, buf, sizeof buf);
  std::string out = t ? t : "errno " + std::to_string(err);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z' && !(out.size() > 1 && out[1] >= 'A' && out[1] <= 'Z'))
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

Error Error::sys(int err, std::string_view what) { return Error{err, std::string(what) + ": " + errno_text(err)}; }

}  // namespace ocelot
