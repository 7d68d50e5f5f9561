// The values users type on the command line: sizes, durations, whole numbers, signals, and the
// flag parser itself (a NUL-separated argv in the input).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/numbers.h"
#include "spec/names.h"

using namespace ocelot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)cli::parse_bytes("memory", text);
  (void)cli::parse_duration_ms(text);
  (void)cli::parse_int("pids-limit", text, -1, 1 << 30);
  (void)spec::parse_signal(text);
  std::vector<std::string> args;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find('\0', i);
    if (j == std::string::npos) j = text.size();
    args.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  static const std::vector<cli::FlagDef> defs = {{"bundle", "b", cli::FlagDef::Value, ""},
                                                 {"detach", "d", cli::FlagDef::Bool, ""},
                                                 {"env", "e", cli::FlagDef::Multi, ""}};
  (void)cli::parse_flags("run", defs, args, false);
  (void)cli::parse_flags("exec", defs, args, true);
  return 0;
}
