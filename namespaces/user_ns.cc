#include "namespaces/user_ns.h"
#include "base/strings.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/unique_fd.h"

namespace ocelot::ns {

std::string id_map_text(const std::vector<spec::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  return out;
}

MapWriter choose_map_writer(uid_t euid, gid_t egid, const spec::Linux& l) {
  if (euid == 0) return MapWriter::direct;
  auto own_only = [](const std::vector<spec::IdMapping>& m, uint32_t id) {
    return m.size() == 1 && m[0].size == 1 && m[0].host_id == id;
  };
  if (own_only(l.uid_mappings, euid) && own_only(l.gid_mappings, egid)) return MapWriter::direct_deny_setgroups;
  return MapWriter::helpers;
}

std::vector<std::string> map_helper_args(pid_t pid, const std::vector<spec::IdMapping>& maps) {
  std::vector<std::string> out{std::to_string(pid)};
  for (const auto& m : maps) {
    out.push_back(std::to_string(m.container_id));
    out.push_back(std::to_string(m.host_id));
    out.push_back(std::to_string(m.size));
  }
  return out;
}

// The helper's full path: the usual places, then PATH. A PATH with a directory this user may
// not search would otherwise turn "not installed" into "permission denied".
static Result<std::string> find_map_helper(const char* helper) {
  std::string dirs = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin";
  if (const char* p = ::getenv("PATH"); p && *p) dirs += std::string(":") + p;
  size_t i = 0;
  while (i <= dirs.size()) {
    size_t j = dirs.find(':', i);
    if (j == std::string::npos) j = dirs.size();
    std::string cand = dirs.substr(i, j - i) + "/" + helper;
    i = j + 1;
    if (cand[0] == '/' && ::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return Error::sys(ENOENT, std::string(helper) +
                                " is not installed (Debian and Ubuntu: the uidmap package; Fedora: shadow-utils): "
                                "it is needed to map ids other than your own");
}

// Runs newuidmap/newgidmap; its complaint (one line on stderr) becomes the error.
static Status run_map_helper(const char* helper, pid_t pid, const std::vector<spec::IdMapping>& maps) {
  std::string path = OCL_TRY(find_map_helper(helper));
  std::vector<std::string> args = map_helper_args(pid, maps);
  args.insert(args.begin(), helper);
  CStrings argv(args);
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) return Error::last(std::string("pipe for ") + helper);
  UniqueFd rd(err[0]), wr(err[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  pid_t child = 0;
  char* const envp[] = {nullptr};
  int rc = ::posix_spawn(&child, path.c_str(), &fa, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) return Error::sys(rc, "run " + quote(path));
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (auto nl = msg.rfind('\n'); nl != std::string::npos) msg = msg.substr(nl + 1);
  return Error::make(std::string(helper) +
                     " failed: " + (msg.empty() ? "exit status " + std::to_string(WEXITSTATUS(status)) : msg));
}

Status write_id_maps_in_parent(pid_t pid, const spec::Linux& l) {
  std::string base = "/proc/" + std::to_string(pid);
  MapWriter w = choose_map_writer(::geteuid(), ::getegid(), l);
  if (w == MapWriter::helpers) {
    OCL_CHECK_CTX(run_map_helper("newuidmap", pid, l.uid_mappings), "write uid mappings");
    OCL_CHECK_CTX(run_map_helper("newgidmap", pid, l.gid_mappings), "write gid mappings");
    return ok();
  }
  // user_namespaces(7): an unprivileged writer of gid_map must first deny setgroups.
  if (w == MapWriter::direct_deny_setgroups) OCL_CHECK(fs::write_existing(base + "/setgroups", "deny"));
  OCL_CHECK_CTX(fs::write_existing(base + "/uid_map", id_map_text(l.uid_mappings)), "write uid mappings");
  OCL_CHECK_CTX(fs::write_existing(base + "/gid_map", id_map_text(l.gid_mappings)), "write gid mappings");
  return ok();
}

}  // namespace ocelot::ns
