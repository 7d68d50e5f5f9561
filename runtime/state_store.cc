#include "runtime/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/proc_stat.h"
#include "spec/parse.h"

namespace ocelot::runtime {

using json = nlohmann::json;

Status validate_id(const std::string& id) {
  if (id.empty()) return Error::make("container id cannot be empty");
  if (id.size() > 1024) return Error::make("invalid container id: longer than 1024 characters");
  if (id == "." || id == "..") return Error::make("invalid container id " + quote(id));
  for (unsigned char c : id)
    if (!(std::isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.'))
      return Error::make("invalid container id " + quote(id) + ": only letters, digits and _+-. are allowed");
  return ok();
}

Result<uint64_t> process_start(pid_t pid, bool zombies_too) {
  auto s = OCL_TRY(read_proc_stat(pid));
  if (!zombies_too && (s.state == 'Z' || s.state == 'X'))
    return Error{ESRCH, "process " + std::to_string(pid) + " is a zombie"};
  return s.start;
}

Result<ProcessRef> process_ref(pid_t pid) { return ProcessRef{pid, OCL_TRY(process_start(pid, false))}; }

bool ProcessRef::alive() const {
  if (pid <= 0) return false;
  auto r = process_ref(pid);
  return r && r->start == start;
}

Result<UniqueFd> StateStore::create_dir(const std::string& id) {
  OCL_CHECK(validate_id(id));
  OCL_CHECK(fs::mkdir_p(root_, 0711));
  std::string d = dir(id);
  if (::mkdir(d.c_str(), 0711) != 0) {
    if (errno == EEXIST) return Error{EEXIST, "container with id exists: " + id};
    return Error::last("create state directory \"" + d + "\"");
  }
  UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::flock(fd.get(), LOCK_EX) != 0) return Error::last("lock \"" + d + "\"");
  return fd;
}

Result<UniqueFd> StateStore::lock(const std::string& id) const {
  OCL_CHECK(validate_id(id));
  std::string d = dir(id);
  UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Error{ENOENT, "container does not exist"};
    return Error::last("open \"" + d + "\"");
  }
  if (::flock(fd.get(), LOCK_EX) != 0) return Error::last("lock \"" + d + "\"");
  // Deleted while we waited for the lock?
  if (!fs::exists(d)) return Error{ENOENT, "container does not exist"};
  struct stat a, b;
  if (::fstat(fd.get(), &a) != 0 || ::stat(d.c_str(), &b) != 0 || a.st_ino != b.st_ino)
    return Error{ENOENT, "container does not exist"};
  return fd;
}

Status StateStore::save(const Stored& s) const {
  json j;
  j["id"] = s.id;
  j["phase"] = spec::status_name(s.phase);
  j["pid"] = s.init.pid;
  j["pidStart"] = s.init.start;
  j["creatorPid"] = s.creator.pid;
  j["creatorStart"] = s.creator.start;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["backend"] = s.backend;
  j["cgroupDriver"] = s.cgroup_driver;
  j["cgroupPaths"] = {{"v1", s.cgroup_paths.v1}, {"v2", s.cgroup_paths.v2}};
  j["cgroupOwned"] = s.cgroup_owned;
  if (!s.cgroup_made.empty()) j["cgroupMade"] = s.cgroup_made;
  j["ownPidNs"] = s.own_pid_ns;
  j["hostMountNs"] = s.host_mount_ns;
  j["poststart"] = s.has_poststart;
  j["poststop"] = s.has_poststop;
  j["uidMap"] = s.uid_map;
  return fs::write_file_atomic(dir(s.id) + "/state.json", j.dump(), 0600);
}

Result<Stored> StateStore::load(const std::string& id) const {
  OCL_CHECK(validate_id(id));
  Stored s;
  s.id = id;
  auto t = fs::read_file(dir(id) + "/state.json");
  if (!t) {
    if (t.error().code != ENOENT) return std::move(t).error();
    if (!fs::is_dir(dir(id))) return Error{ENOENT, "container does not exist"};
    return s;  // a create that died before its first record: `creating`, nothing else known
  }
  json j = json::parse(*t, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error::make("state of container " + quote(id) + " is corrupt: not a JSON object");
  // Every field is checked for its type: a damaged file is an error, never an exception.
  auto get = [&](const char* k, auto& out) -> Status {
    auto it = j.find(k);
    if (it == j.end()) return ok();
    using T = std::decay_t<decltype(out)>;
    bool good = false;
    if constexpr (std::is_same_v<T, std::string>)
      good = it->is_string();
    else if constexpr (std::is_same_v<T, bool>)
      good = it->is_boolean();
    else
      good = it->is_number_integer() || it->is_number_unsigned();
    if (!good)
      return Error::make("state of container " + quote(id) + " is corrupt: field \"" + k + "\" has the wrong type");
    out = it->get<T>();
    return ok();
  };
  std::string phase = "creating";
  OCL_CHECK(get("phase", phase));
  OCL_CHECK(get("pid", s.init.pid));
  OCL_CHECK(get("pidStart", s.init.start));
  OCL_CHECK(get("creatorPid", s.creator.pid));
  OCL_CHECK(get("creatorStart", s.creator.start));
  OCL_CHECK(get("bundle", s.bundle));
  OCL_CHECK(get("rootfs", s.rootfs));
  OCL_CHECK(get("created", s.created));
  OCL_CHECK(get("backend", s.backend));
  OCL_CHECK(get("cgroupDriver", s.cgroup_driver));
  OCL_CHECK(get("cgroupOwned", s.cgroup_owned));
  OCL_CHECK(get("ownPidNs", s.own_pid_ns));
  OCL_CHECK(get("hostMountNs", s.host_mount_ns));
  OCL_CHECK(get("poststart", s.has_poststart));
  OCL_CHECK(get("poststop", s.has_poststop));
  OCL_CHECK(get("uidMap", s.uid_map));
  auto ph = spec::parse_status(phase);
  if (!ph || (*ph != spec::ContainerStatus::creating && *ph != spec::ContainerStatus::created))
    return Error::make("state of container " + quote(id) + " is corrupt: unknown phase " + quote(phase));
  s.phase = *ph;
  if (s.backend.empty() || s.backend.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    return Error::make("state of container " + quote(id) + " is corrupt: backend " + quote(s.backend));
  if (auto it = j.find("cgroupPaths"); it != j.end()) {
    if (!it->is_object()) return Error::make("state of container " + quote(id) + " is corrupt: cgroupPaths");
    if (auto v1 = it->find("v1"); v1 != it->end()) {
      if (!v1->is_object()) return Error::make("state of container " + quote(id) + " is corrupt: cgroupPaths.v1");
      for (auto c = v1->begin(); c != v1->end(); ++c) {
        if (!c.value().is_string())
          return Error::make("state of container " + quote(id) + " is corrupt: cgroupPaths.v1");
        s.cgroup_paths.v1[c.key()] = c.value().get<std::string>();
      }
    }
    if (auto v2 = it->find("v2"); v2 != it->end()) {
      if (!v2->is_string()) return Error::make("state of container " + quote(id) + " is corrupt: cgroupPaths.v2");
      s.cgroup_paths.v2 = v2->get<std::string>();
    }
  }
  if (auto it = j.find("cgroupMade"); it != j.end()) {
    if (!it->is_array()) return Error::make("state of container " + quote(id) + " is corrupt: cgroupMade");
    for (const auto& d : *it) {
      if (!d.is_string()) return Error::make("state of container " + quote(id) + " is corrupt: cgroupMade");
      s.cgroup_made.push_back(d.get<std::string>());
    }
  }
  if (s.init.pid < 0 || s.creator.pid < 0)
    return Error::make("state of container " + quote(id) + " is corrupt: negative pid");
  return s;
}

Status StateStore::save_config(const std::string& id, const std::string& config_without_annotations,
                               const std::map<std::string, std::string>& annotations) const {
  OCL_CHECK(fs::write_file(dir(id) + "/config.json", config_without_annotations, 0600));
  if (!annotations.empty()) OCL_CHECK(fs::write_file(dir(id) + "/annotations.json", json(annotations).dump(), 0600));
  return ok();
}

Result<std::map<std::string, std::string>> StateStore::load_annotations(const std::string& id) const {
  std::map<std::string, std::string> out;
  auto t = fs::read_file(dir(id) + "/annotations.json");
  if (!t) {
    if (t.error().code == ENOENT) return out;
    return std::move(t).error();
  }
  json j = json::parse(*t, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::make("annotations of container " + quote(id) + " are corrupt");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) return Error::make("annotations of container " + quote(id) + " are corrupt");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

Result<spec::Config> StateStore::load_config(const std::string& id) const {
  auto t = fs::read_file(dir(id) + "/config.json");
  if (!t) return std::move(t).error().wrap("stored config of container " + quote(id));
  auto c = spec::parse_config(*t);
  if (!c) return std::move(c).error().wrap("stored config of container " + quote(id));
  c->annotations = OCL_TRY(load_annotations(id));
  return c;
}

Result<std::vector<std::string>> StateStore::ids() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return Error::last("open root \"" + root_ + "\"");
  }
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || !validate_id(n)) continue;
    if (fs::is_dir(dir(n))) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void StateStore::forget_hooks(const std::string& id) const { (void)fs::remove_tree(dir(id) + "/hooks"); }

Status StateStore::remove(const std::string& id) const {
  OCL_CHECK(validate_id(id));
  return fs::remove_tree(dir(id));
}

void StateStore::record_hook(const std::string& id, const ProcessRef& p) const {
  (void)fs::mkdir_p(dir(id) + "/hooks", 0700);
  (void)fs::write_file(dir(id) + "/hooks/" + std::to_string(p.pid), std::to_string(p.start), 0600);
}

void StateStore::forget_hook(const std::string& id, pid_t pid) const {
  ::unlink((dir(id) + "/hooks/" + std::to_string(pid)).c_str());
}

std::vector<ProcessRef> StateStore::hooks(const std::string& id) const {
  std::vector<ProcessRef> out;
  std::string hd = dir(id) + "/hooks";
  DIR* d = ::opendir(hd.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto t = fs::read_file(hd + "/" + e->d_name);
    if (!t) continue;
    out.push_back({static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)), std::strtoull(t->c_str(), nullptr, 10)});
  }
  ::closedir(d);
  return out;
}

void StateStore::kill_hooks(const std::string& id) const {
  for (const auto& h : hooks(id)) {
    // A hook runs as the leader of its own process group. Its group may outlive it (a shell's
    // background children); the group id cannot be reused while any member lives, so the group
    // is ours unless a different process now has the leader's pid.
    auto now = process_start(h.pid, /*zombies_too=*/true);
    bool reused = now ? *now != h.start : fs::exists("/proc/" + std::to_string(h.pid));
    if (!reused) ::kill(-h.pid, SIGKILL);
  }
}

spec::State to_spec_state(const Stored& s, spec::ContainerStatus status,
                          std::map<std::string, std::string> annotations) {
  spec::State out;
  out.id = s.id;
  out.status = status;
  out.pid = (status == spec::ContainerStatus::stopped || status == spec::ContainerStatus::creating) ? 0 : s.init.pid;
  out.bundle = s.bundle;
  out.rootfs = s.rootfs;
  out.created = s.created;
  out.annotations = std::move(annotations);
  return out;
}

}  // namespace ocelot::runtime
