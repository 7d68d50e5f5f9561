#include "cgroups/systemd.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "base/fs.h"
#include "base/strings.h"
#include "base/unique_fd.h"
#include "cgroups/systemd_plan.h"

namespace ocelot::cgroups {

bool systemd_running() {
  struct stat st;
  return ::lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {

std::string properties_text(const std::vector<UnitProperty>& props) {
  std::string out;
  for (const auto& p : props) out += p.name + "\t" + p.signature + "\t" + p.value + "\n";
  return out;
}

// Runs the helper with input on its stdin; its one-line complaint becomes the error.
Status run_helper(const std::string& helper, const std::vector<std::string>& args, const std::string& input) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Error::last("pipe for ocelot-systemd");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return Error::last("pipe for ocelot-systemd");
  UniqueFd err_r(err[0]), err_w(err[1]);
  std::vector<std::string> argv_s = {helper};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  CStrings argv(argv_s);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  pid_t pid = 0;
  char* const envp[] = {nullptr};
  int rc = ::posix_spawn(&pid, helper.c_str(), &fa, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  in_r.reset();
  err_w.reset();
  if (rc != 0) {
    if (rc == ENOENT)
      return Error::sys(ENOENT, "the systemd cgroup driver needs " + quote(helper) +
                                    ", which is not installed (ocelot was built without libsystemd-dev?)");
    return Error::sys(rc, "run " + quote(helper));
  }
  for (size_t off = 0; off < input.size();) {
    ssize_t w = ::write(in_w.get(), input.data() + off, input.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  in_w.reset();
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(err_r.get(), buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (msg.rfind("ocelot-systemd: ", 0) == 0) msg = msg.substr(16);
  return Error::make(msg.empty() ? "ocelot-systemd failed" : msg);
}

class SystemdManager : public Manager {
 public:
  SystemdManager(const Layout& l, const Paths& p, std::string helper, std::string description)
      : mode_(l.mode), fs_(make_fs_manager(l, p)), helper_(std::move(helper)), description_(std::move(description)) {
    std::string dir = !p.v2.empty() ? p.v2 : p.v1.empty() ? "" : p.v1.begin()->second;
    unit_.unit = fs::basename(dir);
    std::string parent = fs::basename(fs::dirname(dir));
    unit_.slice = parent.size() > 6 && parent.compare(parent.size() - 6, 6, ".slice") == 0 ? parent : "-.slice";
  }

  const Paths& paths() const override { return fs_->paths(); }
  bool occupied() const override { return fs_->occupied(); }
  // The unit is made with its first process (a scope cannot be empty): in add_process.
  Status create() override { return ok(); }

  Status add_process(pid_t pid) override {
    if (started_ || unit_exists()) return fs_->add_process(pid);
    auto props = scope_properties(unit_, description_, pid);
    props.insert(props.end(), pending_.begin(), pending_.end());
    OCL_CHECK_CTX(run_helper(helper_, {"start", unit_.unit}, properties_text(props)),
                  "create the systemd unit " + quote(unit_.unit));
    started_ = true;
    // Every limit also through the unit's cgroupfs files, as runc's systemd driver does: what
    // systemd has no property for, and the values the kernel refuses (systemd takes an
    // AllowedCPUs of a cpu that does not exist and only logs the failed write).
    return fs_->apply(pending_all_, pending_devices_);
  }

  Status apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra) override {
    SystemdPlan plan = OCL_TRY(plan_systemd(r, mode_));
    if (!started_ && !unit_exists()) {  // create: kept for StartTransientUnit
      pending_ = plan.properties;
      pending_all_ = r;
      pending_devices_ = extra;
      return ok();
    }
    if (!plan.properties.empty())
      OCL_CHECK_CTX(run_helper(helper_, {"set", unit_.unit}, properties_text(plan.properties)),
                    "update the systemd unit " + quote(unit_.unit));
    return fs_->apply(r, extra);
  }

  Status freeze(bool frozen) override { return fs_->freeze(frozen); }
  Result<bool> frozen() const override { return fs_->frozen(); }
  Result<std::vector<pid_t>> pids() const override { return fs_->pids(); }
  Stats stats() const override { return fs_->stats(); }

  // Stops the unit (its processes were killed already), then waits for systemd to have removed
  // its cgroup; what systemd left (a nested cgroup the workload made) goes too.
  Status remove() override {
    OCL_CHECK_CTX(run_helper(helper_, {"stop", unit_.unit}, ""), "stop the systemd unit " + quote(unit_.unit));
    for (int i = 0; i < 400 && any_dir_left(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return fs_->remove();
  }

 private:
  bool unit_exists() const {
    const Paths& p = fs_->paths();
    return (!p.v2.empty() && fs::is_dir(p.v2)) || (!p.v1.empty() && fs::is_dir(p.v1.begin()->second));
  }
  bool any_dir_left() const { return unit_exists(); }

  Mode mode_;
  std::unique_ptr<Manager> fs_;
  std::string helper_, description_;
  UnitName unit_;
  bool started_ = false;
  std::vector<UnitProperty> pending_;
  spec::Resources pending_all_;
  std::vector<spec::DeviceCgroup> pending_devices_;
};

}  // namespace

Result<std::unique_ptr<Manager>> make_systemd_manager(const Layout& layout, const Paths& paths,
                                                      const std::string& helper, const std::string& description) {
  if (!systemd_running()) return Error::make("systemd not running on this host, cannot use systemd cgroups manager");
  // No cgroup of its own (rootless without delegation): nothing for systemd to hold.
  if (paths.v1.empty() && paths.v2.empty()) return make_fs_manager(layout, paths);
  return std::unique_ptr<Manager>(std::make_unique<SystemdManager>(layout, paths, helper, description));
}

}  // namespace ocelot::cgroups
