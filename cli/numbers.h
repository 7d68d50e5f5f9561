// Strict parsers for the numbers users type on the command line (`update --memory 512m`,
// `events --interval 1m30s`, `--preserve-fds 2`). Every malformed value is an Error naming the flag;
// nothing here throws or wraps around. Pure, unit-tested and fuzzed (tests/fuzz/fuzz_cli_values.cc).
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace ocelot::cli {

// A whole decimal number in [min, max]: "42", "-1". No spaces, signs only where min < 0.
Result<int64_t> parse_int(const std::string& flag, const std::string& text, int64_t min, int64_t max);
// "512m", "1G", "1.5k", "1024", "-1" -> bytes (binary units, as runc's RAMInBytes); -1 = unlimited.
Result<int64_t> parse_bytes(const std::string& flag, const std::string& text);
// Go's time.ParseDuration for --interval: "5s", "1m30s", "250ms", "1.5h" -> milliseconds.
Result<long long> parse_duration_ms(const std::string& text);

}  // namespace ocelot::cli
