#include "runtime/criu.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/strings.h"

namespace ocelot::runtime {

namespace {

CriuCall common_call(std::string action, const CriuOptions& o) {
  CriuCall c;
  c.action = std::move(action);
  c.images_dir = o.image_path;
  c.work_dir = o.work_path.empty() ? o.image_path : o.work_path;
  auto& a = c.options;
  a.push_back("--manage-cgroups=" + (o.manage_cgroups_mode.empty() ? std::string("soft") : o.manage_cgroups_mode));
  if (o.tcp_established) a.push_back("--tcp-established");
  if (o.ext_unix_sk) a.push_back("--ext-unix-sk");
  if (o.shell_job) a.push_back("--shell-job");
  if (o.file_locks) a.push_back("--file-locks");
  if (o.auto_dedup) a.push_back("--auto-dedup");
  for (const auto& ns : o.empty_ns) a.insert(a.end(), {"--empty-ns", ns == "network" ? "net" : ns});
  return c;
}

}  // namespace

CriuCall criu_dump_call(const DumpPlan& p) {
  CriuCall c = common_call(p.o.pre_dump ? "pre-dump" : "dump", p.o);
  auto& a = c.options;
  a.insert(a.end(), {"--tree", std::to_string(p.pid)});
  if (p.o.leave_running && !p.o.pre_dump) a.push_back("--leave-running");
  if (!p.o.parent_path.empty()) a.insert(a.end(), {"--prev-images-dir", p.o.parent_path});
  if (p.o.pre_dump) a.push_back("--track-mem");
  if (!p.freeze_cgroup.empty()) a.insert(a.end(), {"--freeze-cgroup", p.freeze_cgroup});
  for (const auto& m : p.binds) a.insert(a.end(), {"--external", "mnt[" + m.destination + "]:" + m.destination});
  if (p.external_net) a.insert(a.end(), {"--external", "net[" + std::to_string(p.net_inode) + "]:extRootNetNS"});
  return c;
}

CriuCall criu_restore_call(const RestorePlan& p) {
  CriuCall c = common_call("restore", p.o);
  auto& a = c.options;
  a.insert(a.end(), {"--root", p.root});
  if (!p.cgroup_root.empty()) a.insert(a.end(), {"--cgroup-root", p.cgroup_root});
  for (const auto& m : p.binds) a.insert(a.end(), {"--external", "mnt[" + m.destination + "]:" + m.source});
  c.inherit = p.inherit;
  return c;
}

Status check_criu_options(const CriuOptions& o, bool restore) {
  if (o.lazy_pages)
    return Error::make("--lazy-pages is not supported by ocelot (it needs CRIU's lazy-pages daemon and page server)");
  for (const auto& ns : o.empty_ns)
    if (ns != "network") return Error::make("--empty-ns " + quote(ns) + ": only network can be left empty (as runc)");
  const std::string& m = o.manage_cgroups_mode;
  if (!m.empty() && m != "soft" && m != "full" && m != "strict" && m != "ignore")
    return Error::make("--manage-cgroups-mode " + quote(m) + ": expected soft, full, strict or ignore");
  if (restore && o.pre_dump) return Error::make("--pre-dump is a checkpoint option");
  if (o.pre_dump && o.leave_running) return Error::make("--pre-dump always leaves the container running");
  return ok();
}

std::vector<std::string> stdio_descriptors(pid_t pid) {
  std::vector<std::string> out;
  for (int fd = 0; fd < 3; ++fd) {
    char buf[4096];
    std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    out.emplace_back(n > 0 ? std::string(buf, static_cast<size_t>(n)) : "/dev/null");
  }
  return out;
}

std::string descriptors_json(const std::vector<std::string>& fds) { return nlohmann::json(fds).dump() + "\n"; }

Result<std::vector<std::string>> parse_descriptors_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return Error::make("descriptors.json: expected a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return Error::make("descriptors.json: expected a JSON array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<std::pair<int, std::string>> inherited_stdio(const std::vector<std::string>& dumped) {
  std::vector<std::pair<int, std::string>> out;
  for (size_t fd = 0; fd < dumped.size() && fd < 3; ++fd)
    if (dumped[fd].starts_with("pipe:")) out.emplace_back(static_cast<int>(fd), dumped[fd]);
  return out;
}

Result<std::string> find_criu(const std::string& flag) {
  std::string path = flag;
  if (path.empty()) {
    const char* env = ::getenv("PATH");
    for (const auto& dir : split(env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
      if (!dir.empty() && ::access((dir + "/criu").c_str(), X_OK) == 0) {
        path = dir + "/criu";
        break;
      }
    }
    if (path.empty()) return Error::make("criu not found on PATH (checkpoint and restore need CRIU; --criu PATH)");
  }
  if (::access(path.c_str(), X_OK) != 0) return Error::last("criu " + quote(path));
  return path;
}

std::string criu_summary(const std::string& flag) {
  auto path = find_criu(flag);
  if (!path) return path.error().msg;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "criu at " + *path;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    const char* argv[] = {path->c_str(), "--version", nullptr};
    ::execv(path->c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 && out.size() < 4096) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int st = 0;
  if (pid > 0)
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  auto at = out.find("Version: ");
  if (at == std::string::npos) return "criu at " + *path + " (its version unknown)";
  std::string version = out.substr(at + 9, out.find('\n', at) - at - 9);
  return "criu " + version + " (" + *path + ")";
}

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

}  // namespace

std::string criu_log_error(const std::string& log) {
  auto text = fs::read_file(log);
  if (!text) return "no log";
  for (const auto& line : split(*text, '\n')) {
    auto at = line.find("Error (");
    if (at == std::string::npos || line.find("RLIMIT_NOFILE") != std::string::npos) continue;
    auto colon = line.find("): ", at);
    return trim(colon == std::string::npos ? line.substr(at) : line.substr(colon + 3));
  }
  return "see the log";
}

}  // namespace ocelot::runtime
