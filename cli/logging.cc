#include "cli/logging.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/log.h"

namespace ocelot::cli {

namespace {
LogConfig g_cfg;
int g_fd = -1;  // log file, or -1 for stderr

std::string now_rfc3339() {
  time_t t = ::time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* level_name(log::Level l) {
  switch (l) {
    case log::Level::debug: return "debug";
    case log::Level::info: return "info";
    case log::Level::warn: return "warning";
    case log::Level::error: return "error";
  }
  return "info";
}

void emit(const char* level, const std::string& msg) {
  std::string line;
  if (g_cfg.json) {
    line = log_line_json(level, msg, now_rfc3339()) + "\n";
  } else {
    nlohmann::json q = msg;
    line = "time=\"" + now_rfc3339() + "\" level=" + level + " msg=" + q.dump() + "\n";
  }
  (void)!::write(g_fd >= 0 ? g_fd : 2, line.data(), line.size());
}

void sink(log::Level l, std::string_view msg) {
  if (l == log::Level::debug && !g_cfg.debug) return;
  emit(level_name(l), std::string(msg));
}
}  // namespace

std::string log_line_json(const char* level, const std::string& msg, const std::string& time) {
  nlohmann::ordered_json j;
  j["level"] = level;
  j["msg"] = msg;
  j["time"] = time;
  return j.dump();
}

void init_logging(const LogConfig& c) {
  g_cfg = c;
  if (!c.path.empty()) g_fd = ::open(c.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  log::set_sink(&sink, c.debug);
  log::step("logging set up");
}

void report_error(const std::string& msg) {
  if (g_fd >= 0) {
    emit("error", msg);
    std::string line = msg + "\n";
    (void)!::write(2, line.data(), line.size());
  } else if (g_cfg.json) {
    emit("error", msg);
  } else {
    std::string line = "ocelot: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
  }
}

}  // namespace ocelot::cli
