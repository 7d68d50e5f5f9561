// Where ocelot's own messages go: --log FILE (default stderr) in --log-format text or json. The
// json objects are logrus's, which containerd and podman parse:
// {"level":"error","msg":"...","time":"2026-01-01T00:00:00Z"}. A failed command writes exactly one
// error object to the log, and the bare message to stderr.
#pragma once

#include <string>

namespace ocelot::cli {

struct LogConfig {
  std::string path;
  bool json = false;
  bool debug = false;
};

void init_logging(const LogConfig& c);
void report_error(const std::string& msg);
std::string log_line_json(const char* level, const std::string& msg, const std::string& time);

}  // namespace ocelot::cli
