#include "base/proc_stat.h"

#include <charconv>
#include <string>

#include "base/fs.h"

namespace ocelot {

Result<ProcStat> parse_proc_stat(std::string_view text) {
  auto close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return Error::make("malformed stat line");
  std::string_view rest = text.substr(close + 2);  // field 3 on
  ProcStat s;
  s.state = rest[0];
  int field = 3;
  size_t i = 0;
  while (i < rest.size() && field <= 22) {
    size_t end = rest.find(' ', i);
    if (end == std::string_view::npos) end = rest.size();
    const char* b = rest.data() + i;
    const char* e = rest.data() + end;
    if (field == 9 && std::from_chars(b, e, s.flags).ec != std::errc()) return Error::make("malformed stat flags");
    if (field == 22) {
      if (std::from_chars(b, e, s.start).ec != std::errc()) return Error::make("malformed stat start time");
      return s;
    }
    ++field;
    i = end + 1;
  }
  return Error::make("stat line too short");
}

Result<ProcStat> read_proc_stat(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  auto t = OCL_TRY(fs::read_file(path));
  auto s = parse_proc_stat(t);
  if (!s) return Error::make(s.error().msg + ": " + path);
  return s;
}

}  // namespace ocelot
