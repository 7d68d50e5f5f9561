#include "spec/default_spec.h"

#include <nlohmann/json.hpp>

#include "spec/state.h"

namespace ocelot::spec {

using ojson = nlohmann::ordered_json;

static ojson mount(const char* dest, const char* type, const char* src, std::initializer_list<const char*> opts) {
  ojson m;
  m["destination"] = dest;
  m["type"] = type;
  m["source"] = src;
  if (opts.size()) {
    m["options"] = ojson::array();
    for (auto o : opts) m["options"].push_back(o);
  }
  return m;
}

std::string default_spec_json(bool rootless, uid_t uid, gid_t gid) {
  const auto caps = ojson::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  ojson c;
  c["ociVersion"] = kOciVersion;
  ojson p;
  p["terminal"] = true;
  p["user"] = {{"uid", 0}, {"gid", 0}};
  p["args"] = ojson::array({"sh"});
  p["env"] = ojson::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"});
  p["cwd"] = "/";
  p["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}};
  p["rlimits"] = ojson::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}});
  p["noNewPrivileges"] = true;
  c["process"] = p;
  c["root"] = {{"path", "rootfs"}, {"readonly", true}};
  c["hostname"] = "ocelot";
  ojson mounts = ojson::array();
  mounts.push_back(mount("/proc", "proc", "proc", {}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  if (rootless)
    mounts.push_back(
        mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}));
  else
    mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                           {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.push_back(mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless)
    mounts.push_back(mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  else
    mounts.push_back(mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  c["mounts"] = mounts;
  ojson l;
  if (rootless) {
    l["uidMappings"] = ojson::array({{{"containerID", 0}, {"hostID", uid}, {"size", 1}}});
    l["gidMappings"] = ojson::array({{{"containerID", 0}, {"hostID", gid}, {"size", 1}}});
    l["namespaces"] = ojson::array({{{"type", "pid"}},
                                    {{"type", "ipc"}},
                                    {{"type", "uts"}},
                                    {{"type", "mount"}},
                                    {{"type", "cgroup"}},
                                    {{"type", "user"}}});
  } else {
    l["resources"] = {{"devices", ojson::array({{{"allow", false}, {"access", "rwm"}}})}};
    l["namespaces"] = ojson::array({{{"type", "pid"}},
                                    {{"type", "network"}},
                                    {{"type", "ipc"}},
                                    {{"type", "uts"}},
                                    {{"type", "mount"}},
                                    {{"type", "cgroup"}}});
  }
  l["maskedPaths"] = ojson::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                   "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                   "/proc/scsi", "/sys/devices/virtual/powercap"});
  l["readonlyPaths"] = ojson::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
  c["linux"] = l;
  return c.dump(1, '\t');
}

}  // namespace ocelot::spec
