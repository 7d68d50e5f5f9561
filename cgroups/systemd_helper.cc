// ocelot-systemd: the systemd cgroup driver's D-Bus side, a small program of its own because it
// links Debian's libsystemd (sd-bus), which has no static archive, while ocelot itself is static
// (its start time). ocelot runs it only with --systemd-cgroup:
//
//   ocelot-systemd start UNIT   < properties    StartTransientUnit(UNIT, "fail"), then waits for its job
//   ocelot-systemd set UNIT     < properties    SetUnitProperties(UNIT, runtime=true)
//   ocelot-systemd stop UNIT                    StopUnit(UNIT, "replace"), waits, then ResetFailedUnit
//   ocelot-systemd ping                         is systemd reachable on the system bus?
//
// A property is one line: NAME TAB SIGNATURE TAB VALUE, as cgroups/systemd_plan.h writes them.
// Success is exit 0 and no output; a failure is one line on stderr and exit 1 (2: systemd is
// not running).
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

struct Property {
  std::string name, sig, value;
};

[[noreturn]] void die(const std::string& what, int err = 0, int code = 1) {
  std::string msg = "ocelot-systemd: " + what + (err ? std::string(": ") + std::strerror(err) : "");
  std::cerr << msg << std::endl;
  std::exit(code);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) return out;
    i = j + 1;
  }
}

std::vector<Property> read_properties() {
  std::vector<Property> out;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    auto f = split(line, '\t');
    if (f.size() != 3) die("malformed property line \"" + line + "\"");
    out.push_back({f[0], f[1], f[2]});
  }
  return out;
}

uint64_t number(const Property& p) {
  if (p.value == "infinity") return UINT64_MAX;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(p.value.c_str(), &end, 10);
  if (errno || end == p.value.c_str() || *end) die(p.name + ": not a number: " + p.value);
  return v;
}

// Appends one (sv) pair: the property's name and its value in a variant of its signature.
int append_property(sd_bus_message* m, const Property& p) {
  int r = sd_bus_message_open_container(m, 'r', "sv");
  if (r < 0) return r;
  if ((r = sd_bus_message_append(m, "s", p.name.c_str())) < 0) return r;
  if ((r = sd_bus_message_open_container(m, 'v', p.sig.c_str())) < 0) return r;
  if (p.sig == "t") {
    r = sd_bus_message_append(m, "t", number(p));
  } else if (p.sig == "b") {
    r = sd_bus_message_append(m, "b", p.value == "true");
  } else if (p.sig == "s") {
    r = sd_bus_message_append(m, "s", p.value.c_str());
  } else if (p.sig == "au") {
    if ((r = sd_bus_message_open_container(m, 'a', "u")) < 0) return r;
    for (const auto& n : split(p.value, ','))
      if (!n.empty() && (r = sd_bus_message_append(m, "u", static_cast<uint32_t>(number({p.name, "u", n})))) < 0)
        return r;
    r = sd_bus_message_close_container(m);
  } else if (p.sig == "ay") {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < p.value.size(); i += 2)
      bytes.push_back(static_cast<uint8_t>(std::strtoul(p.value.substr(i, 2).c_str(), nullptr, 16)));
    r = sd_bus_message_append_array(m, 'y', bytes.data(), bytes.size());
  } else {
    die(p.name + ": unsupported property type \"" + p.sig + "\"");
  }
  if (r < 0) return r;
  if ((r = sd_bus_message_close_container(m)) < 0) return r;
  return sd_bus_message_close_container(m);
}

int append_properties(sd_bus_message* m, const std::vector<Property>& props) {
  int r = sd_bus_message_open_container(m, 'a', "(sv)");
  if (r < 0) return r;
  for (const auto& p : props)
    if ((r = append_property(m, p)) < 0) return r;
  return sd_bus_message_close_container(m);
}

// Waits for systemd to finish a job: JobRemoved with its path. Its result must be "done".
struct JobWait {
  std::string path, result;
  bool removed = false;
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* w = static_cast<JobWait*>(userdata);
  uint32_t id;
  const char *job, *unit, *result;
  if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0) return 0;
  if (w->path == job) {
    w->removed = true;
    w->result = result;
  }
  return 0;
}

void wait_job(sd_bus* bus, JobWait& w, const std::string& what) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (!w.removed) {
    int r = sd_bus_process(bus, nullptr);
    if (r < 0) die(what + ": read from systemd", -r);
    if (r > 0) continue;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec > 90) die(what + ": systemd did not finish the job in 90 s");
    if ((r = sd_bus_wait(bus, 1000000)) < 0) die(what + ": wait for systemd", -r);
  }
  if (w.result != "done") die(what + ": systemd's job ended \"" + w.result + "\"");
}

// A method call on the manager whose reply is a job; waits for the job unless told not to.
void call_with_job(sd_bus* bus, const char* method, const std::string& unit, const std::vector<Property>* props,
                   const std::string& what) {
  JobWait w;
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_match_signal(bus, &slot, kDest, kPath, kManager, "JobRemoved", on_job_removed, &w);
  if (r < 0) die(what + ": subscribe to systemd's job signals", -r);
  sd_bus_message* m = nullptr;
  r = sd_bus_message_new_method_call(bus, &m, kDest, kPath, kManager, method);
  if (r >= 0) r = sd_bus_message_append(m, "ss", unit.c_str(), props ? "fail" : "replace");
  if (r >= 0 && props) r = append_properties(m, *props);
  if (r >= 0 && props) r = sd_bus_message_append(m, "a(sa(sv))", 0);
  if (r < 0) die(what + ": build the request", -r);
  sd_bus_error err = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  r = sd_bus_call(bus, m, 0, &err, &reply);
  // Stopping a unit that is gone already (a create killed before it made it) is done.
  if (r < 0 && !props && sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit")) return;
  if (r < 0) die(what + ": " + (err.message ? err.message : std::strerror(-r)));
  const char* job = nullptr;
  if (sd_bus_message_read(reply, "o", &job) < 0) die(what + ": unexpected reply from systemd");
  w.path = job;
  wait_job(bus, w, what);
  sd_bus_message_unref(reply);
  sd_bus_message_unref(m);
  sd_bus_slot_unref(slot);
}

void set_properties(sd_bus* bus, const std::string& unit, const std::vector<Property>& props) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(bus, &m, kDest, kPath, kManager, "SetUnitProperties");
  if (r >= 0) r = sd_bus_message_append(m, "sb", unit.c_str(), 1);
  if (r >= 0) r = append_properties(m, props);
  if (r < 0) die("set properties of " + unit + ": build the request", -r);
  sd_bus_error err = SD_BUS_ERROR_NULL;
  r = sd_bus_call(bus, m, 0, &err, nullptr);
  if (r < 0) die("set properties of " + unit + ": " + (err.message ? err.message : std::strerror(-r)));
  sd_bus_message_unref(m);
}

void reset_failed(sd_bus* bus, const std::string& unit) {
  sd_bus_error err = SD_BUS_ERROR_NULL;
  (void)sd_bus_call_method(bus, kDest, kPath, kManager, "ResetFailedUnit", &err, nullptr, "s", unit.c_str());
  sd_bus_error_free(&err);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: ocelot-systemd start|set|stop UNIT | ping");
  std::string cmd = argv[1];
  if (sd_booted() <= 0) die("systemd not running on this host, cannot use systemd cgroups manager", 0, 2);
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system(&bus);
  if (r < 0) die("connect to systemd over the system bus", -r, 2);
  if (cmd == "ping") return 0;
  if (argc != 3) die("usage: ocelot-systemd start|set|stop UNIT");
  std::string unit = argv[2];
  // Without Subscribe() systemd may not emit the job signals we wait for.
  sd_bus_error err = SD_BUS_ERROR_NULL;
  (void)sd_bus_call_method(bus, kDest, kPath, kManager, "Subscribe", &err, nullptr, "");
  sd_bus_error_free(&err);
  if (cmd == "start") {
    auto props = read_properties();
    call_with_job(bus, "StartTransientUnit", unit, &props, "start " + unit);
  } else if (cmd == "set") {
    set_properties(bus, unit, read_properties());
  } else if (cmd == "stop") {
    call_with_job(bus, "StopUnit", unit, nullptr, "stop " + unit);
    reset_failed(bus, unit);
  } else {
    die("unknown command \"" + cmd + "\"");
  }
  sd_bus_flush_close_unref(bus);
  return 0;
}
