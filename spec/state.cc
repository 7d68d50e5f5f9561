#include "spec/state.h"

#include <time.h>

#include <nlohmann/json.hpp>

namespace ocelot::spec {

using ojson = nlohmann::ordered_json;

static ojson cli_object(const State& s) {
  ojson j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = s.pid;
  j["status"] = status_name(s.status);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

std::string state_to_cli_json(const State& s) { return cli_object(s).dump(2); }
std::string state_to_compact_json(const State& s) { return cli_object(s).dump(); }

std::string state_to_hook_json(const State& s) {
  ojson j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["status"] = status_name(s.status);
  if (s.pid > 0) j["pid"] = s.pid;
  j["bundle"] = s.bundle;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j.dump();
}

std::string rfc3339_nano(int64_t sec, long nsec) {
  time_t t = static_cast<time_t>(sec);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (nsec > 0) {
    char frac[32];
    snprintf(frac, sizeof frac, ".%09ld", nsec);
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string now_rfc3339_nano() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return rfc3339_nano(ts.tv_sec, ts.tv_nsec);
}

}  // namespace ocelot::spec
