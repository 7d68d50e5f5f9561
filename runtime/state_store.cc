#include "runtime/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace ocelot::runtime {

using json = nlohmann::json;

Status validate_id(const std::string& id) {
  if (id.empty()) return Error::make("container id cannot be empty");
  if (id.size() > 1024) return Error::make("invalid container id: longer than 1024 characters");
  if (id == "." || id == "..") return Error::make("invalid container id \"" + id + "\"");
  for (unsigned char c : id)
    if (!(std::isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.'))
      return Error::make("invalid container id \"" + id + "\": only letters, digits and _+-. are allowed");
  return ok();
}

Result<uint64_t> process_start_time(pid_t pid) {
  auto t = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!t) return std::move(t).error();
  // comm may hold spaces and parentheses: fields start after the last ')'.
  auto p = t->rfind(')');
  if (p == std::string::npos) return Error::make("malformed /proc stat");
  std::string rest = t->substr(p + 2);
  char state = rest.empty() ? '?' : rest[0];
  if (state == 'Z' || state == 'X') return Error{ESRCH, "process is a zombie"};
  size_t field = 3, i = 0;
  while (field < 22 && i < rest.size()) {
    if (rest[i] == ' ') ++field;
    ++i;
  }
  return std::strtoull(rest.c_str() + i, nullptr, 10);
}

bool process_alive(pid_t pid, uint64_t start) {
  if (pid <= 0) return false;
  auto t = process_start_time(pid);
  return t && *t == start;
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
  if (!fs::exists(d + "/state.json")) return Error{ENOENT, "container does not exist"};
  return fd;
}

Status StateStore::save(const Stored& s) const {
  json j;
  j["ociVersion"] = spec::kOciVersion;
  j["id"] = s.id;
  j["pid"] = s.pid;
  j["pidStart"] = s.pid_start;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  j["annotations"] = s.annotations;
  j["cgroupPaths"] = {{"v1", s.cgroup_paths.v1}, {"v2", s.cgroup_paths.v2}};
  j["isolation"] = s.isolation;
  return fs::write_file_atomic(dir(s.id) + "/state.json", j.dump(), 0600);
}

Result<Stored> StateStore::load(const std::string& id) const {
  OCL_CHECK(validate_id(id));
  auto t = fs::read_file(dir(id) + "/state.json");
  if (!t) {
    if (t.error().code == ENOENT) return Error{ENOENT, "container does not exist"};
    return std::move(t).error();
  }
  json j = json::parse(*t, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::make("state of container \"" + id + "\" is corrupt");
  Stored s;
  try {
    s.id = j.value("id", id);
    s.pid = j.value("pid", 0);
    s.pid_start = j.value("pidStart", uint64_t{0});
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.owner = j.value("owner", "");
    if (j.contains("annotations")) s.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    if (j.contains("cgroupPaths")) {
      s.cgroup_paths.v1 = j["cgroupPaths"].value("v1", std::map<std::string, std::string>{});
      s.cgroup_paths.v2 = j["cgroupPaths"].value("v2", "");
    }
    s.isolation = j.value("isolation", "container");
  } catch (const std::exception& e) {
    return Error::make("state of container \"" + id + "\" is corrupt: " + e.what());
  }
  return s;
}

Result<std::string> StateStore::load_config_text(const std::string& id) const {
  return fs::read_file(dir(id) + "/config.json");
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
    if (n == "." || n == "..") continue;
    if (fs::exists(dir(n) + "/state.json")) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

static Status remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? ok() : Error::last("stat \"" + path + "\"");
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = ::opendir(path.c_str())) {
      std::vector<std::string> names;
      while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
      for (auto& n : names) OCL_CHECK(remove_tree(path + "/" + n));
    }
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return Error::last("remove \"" + path + "\"");
    return ok();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::last("remove \"" + path + "\"");
  return ok();
}

Status StateStore::remove(const std::string& id) const {
  OCL_CHECK(validate_id(id));
  return remove_tree(dir(id));
}

std::string container_status(const StateStore& st, const Stored& s) {
  if (!process_alive(s.pid, s.pid_start)) return "stopped";
  if (fs::exists(st.fifo(s.id))) return "created";
  auto layout = cgroups::detect_layout();
  if (layout) {
    cgroups::Manager m(*layout, s.cgroup_paths);
    if (m.is_frozen()) return "paused";
  }
  return "running";
}

spec::State to_spec_state(const Stored& s, const std::string& status) {
  spec::State out;
  out.id = s.id;
  out.status = status;
  out.pid = status == "stopped" ? 0 : s.pid;
  out.bundle = s.bundle;
  out.rootfs = s.rootfs;
  out.created = s.created;
  out.owner = s.owner;
  out.annotations = s.annotations;
  return out;
}

}  // namespace ocelot::runtime
