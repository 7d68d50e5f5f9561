#include "vm/vmm/process.h"
#include "base/strings.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "base/clock.h"
#include "base/fs.h"
#include "vm/transport/channel.h"

namespace ocelot::vm {

namespace {

// In the child, after fork. A held child waits first (it is in its cgroup once released); then
// the share helpers (in the cgroup too), the capability cut; then every source fd is moved above
// the targets, so that no dup2 overwrites another's source; then the targets; then everything
// else is closed.
[[noreturn]] void become_vmm(const VmmSpawn& how, pid_t parent, int log_fd, int wait_fd) noexcept {
  auto fail = [&](const Error& e) {
    std::string line = "ocelot: the VMM's " + e.msg + "\n";
    (void)!::write(log_fd, line.data(), line.size());
    ::_exit(126);
  };
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (how.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
  }
  ::setsid();
  // The jail's tree first: it is made while the caller still puts us in the cgroup.
  if (how.jail)
    if (auto st = make_jail(*how.jail); !st) fail(st.error());
  if (wait_fd >= 0) {
    char b;
    ssize_t n;
    do n = ::read(wait_fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(1);  // the caller gave up on us
  }
  std::vector<std::pair<int, int>> fds = how.fds;
  std::vector<std::string> args = how.argv;
  std::vector<UniqueFd> helpers;
  if (how.jail) {
    auto started = start_share_helpers(*how.jail, log_fd);
    if (!started) fail(started.error());
    helpers = std::move(*started);
    for (size_t i = 0; i < helpers.size(); ++i) fds.emplace_back(helpers[i].get(), kShareFd + static_cast<int>(i));
    if (!how.jail->share_helper.empty()) args.insert(args.end(), {"-runas", vmm_runas(::getpid())});
    if (auto st = confine(*how.jail); !st) fail(st.error());
  }
  if (::chdir(how.dir.c_str()) != 0) ::_exit(126);
  int top = 10;
  for (const auto& f : fds) top = std::max(top, f.second + 1);
  std::vector<std::pair<int, int>> moved;
  moved.reserve(fds.size());
  for (const auto& [from, to] : fds) moved.emplace_back(::fcntl(from, F_DUPFD, top), to);
  int lg = ::fcntl(log_fd, F_DUPFD, top);
  int nul = ::open("/dev/null", O_RDONLY);
  int nul_hi = nul >= 0 ? ::fcntl(nul, F_DUPFD, top) : -1;
  if (lg < 0 || nul_hi < 0) ::_exit(126);
  for (const auto& [hi, to] : moved)
    if (hi < 0 || ::dup2(hi, to) < 0) ::_exit(126);
  if (::dup2(nul_hi, 0) < 0 || ::dup2(lg, 1) < 0 || ::dup2(lg, 2) < 0) ::_exit(126);
  // Everything but the targets is closed, the gaps between them too.
  std::vector<int> kept = {0, 1, 2};
  for (const auto& f : fds) kept.push_back(f.second);
  std::sort(kept.begin(), kept.end());
  for (size_t i = 0; i + 1 < kept.size(); ++i)
    if (kept[i + 1] > kept[i] + 1)
      ::close_range(static_cast<unsigned>(kept[i] + 1), static_cast<unsigned>(kept[i + 1] - 1), 0);
  ::close_range(static_cast<unsigned>(kept.back() + 1), ~0U, 0);
  std::vector<std::string> env = how.env;
  CStrings argv(args), envp(env);
  ::execve(argv.data()[0], argv.data(), envp.data());
  ::_exit(127);
}

}  // namespace

VmmProcess& VmmProcess::operator=(VmmProcess&& o) noexcept {
  if (this != &o) {
    kill();
    pid_ = o.pid_;
    owned_ = o.owned_;
    o.pid_ = 0;
    dir_ = std::move(o.dir_);
    log_path_ = std::move(o.log_path_);
    release_ = std::move(o.release_);
    pidfd_ = std::move(o.pidfd_);
  }
  return *this;
}

VmmProcess VmmProcess::adopt(pid_t pid, UniqueFd pidfd, std::string dir, std::string log_path) {
  VmmProcess v;
  v.pid_ = pid;
  v.owned_ = false;
  v.pidfd_ = std::move(pidfd);
  v.dir_ = std::move(dir);
  v.log_path_ = std::move(log_path);
  return v;
}

Result<VmmProcess> VmmProcess::spawn(const VmmSpawn& how) {
  if (how.argv.empty() || how.argv[0].empty() || how.argv[0][0] != '/')
    return Error::make("VMM: an absolute path to its binary is needed");
  if (how.jail && ::mkdir(how.jail->root.c_str(), 0700) != 0 && errno != EEXIST)
    return Error::last("make the VMM's jail root " + quote(how.jail->root));
  UniqueFd log(::open(how.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log.valid()) return Error::last("create " + quote(how.log_path));
  UniqueFd wait_end, release_end;
  if (how.hold) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::last("pipe for the VMM");
    wait_end.reset(p[0]);
    release_end.reset(p[1]);
  }
  VmmProcess v;
  v.dir_ = how.dir;
  v.log_path_ = how.log_path;
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Error::last("fork the VMM");
  if (pid == 0) become_vmm(how, parent, log.get(), wait_end.get());
  v.pid_ = pid;
  v.release_ = std::move(release_end);
  return v;
}

Status VmmProcess::release() {
  if (!release_.valid()) return ok();
  ssize_t n;
  do n = ::write(release_.get(), "g", 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) return Error::last("release the VMM");
  release_.reset();
  return ok();
}

std::string VmmProcess::log() const {
  auto t = fs::read_file(log_path_);
  return t ? *t : "";
}

Error VmmProcess::failure(const std::string& what) const {
  // The first line that says something: virtfs-proxy-helper writes "Started" and "Done" there too.
  std::string l = log(), first;
  for (size_t at = 0; at < l.size() && first.empty();) {
    size_t nl = std::min(l.find('\n', at), l.size());
    std::string line = l.substr(at, nl - at);
    if (line != "Started" && line != "Done") first = line;
    at = nl + 1;
  }
  return Error{EPIPE, what + (first.empty() ? "" : ": " + first)};
}

bool VmmProcess::exited() {
  if (pid_ <= 0) return true;
  if (pidfd_.valid()) {  // readable once the process has exited
    struct pollfd p = {pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    pid_ = 0;
    return true;
  }
  int st;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == 0 || (r < 0 && errno != ECHILD)) return false;
  pid_ = 0;
  return true;
}

void VmmProcess::kill() noexcept {
  if (pid_ <= 0 || !owned_) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = 0;
}

Result<UniqueFd> VmmProcess::connect(const std::string& name, int timeout_ms, const std::string& step) {
  for (int64_t end = monotonic_ms() + timeout_ms;;) {
    if (auto c = connect_socket(dir_, name)) return std::move(*c);
    if (exited()) return failure("the VMM exited while " + step);
    if (monotonic_ms() > end)
      return Error{ETIMEDOUT, "timed out after " + std::to_string(timeout_ms / 1000) + " s while " + step};
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool kvm_failed_in_log(const std::string& log) {
  for (const char* words : {"failed to set MSR", "KVM internal error", "kvm run failed", "KVM_CREATE_VM",
                            "Could not access KVM kernel module", "failed to initialize kvm", "kvm_init_vcpu failed"})
    if (log.find(words) != std::string::npos) return true;
  return false;
}

}  // namespace ocelot::vm
