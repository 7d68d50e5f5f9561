// The VM backend's side of the pool (vm/pool/pool.h): taking a spare at create, handing it the
// container, and starting the next one.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "base/clock.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/proc_stat.h"
#include "runtime/lifecycle.h"
#include "runtime/safe_exe.h"
#include "vm/transport/protocol.h"
#include "vm/vm_backend.h"
#include "vm/vmm/jail.h"

namespace ocelot::vm {

namespace {

constexpr const char* kSpareRecord = "vm-spare";  // in the state dir: the spare's directory

// What the rest of the backend finds in the state dir by name, for a spare: links into the
// spare's directory (its VMM made them there, in its jail, before it knew the container).
std::vector<std::string> spare_entries() {
  std::vector<std::string> names = {kCtlSocket, kCmdSocket, "qmp.sock", "vmm.log"};
  for (int i = 0; i < kExecSessions; ++i) names.push_back(exec_socket_name(i));
  return names;
}

// The spare warmed at idle priority (vm/pool/pool.cc); the container's VMM and keeper run at
// the priority of any other process. Each thread: the policy is per thread.
void restore_normal_priority(pid_t pid) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    pid_t tid = static_cast<pid_t>(std::strtol(e.path().filename().c_str(), nullptr, 10));
    if (tid <= 0) continue;
    struct sched_param normal = {};
    (void)::sched_setscheduler(tid, SCHED_OTHER, &normal);
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 0);
  }
}

// Is pid on its way out (killed, exiting, a zombie)? A VMM killed just before the claim still
// holds its sockets while the kernel unmaps its memory: the plan goes through, and moving it into
// the cgroup fails (ESRCH). Such a spare is not taken: the template's path is.
bool exiting(pid_t pid) {
  auto stat = read_proc_stat(pid);
  constexpr unsigned long kPfExiting = 0x4;
  if (!stat || stat->state == 'Z' || stat->state == 'X' || (stat->flags & kPfExiting)) return true;
  auto status = fs::read_file("/proc/" + std::to_string(pid) + "/status");
  if (!status) return true;
  for (const char* key : {"\nShdPnd:\t", "\nSigPnd:\t"}) {
    auto at = status->find(key);
    if (at == std::string::npos) continue;
    unsigned long long pending = std::strtoull(status->c_str() + at + std::strlen(key), nullptr, 16);
    if (pending & (1ULL << (SIGKILL - 1))) return true;
  }
  return false;
}

}  // namespace

void forget_spare(const std::string& state_dir) {
  auto dir = fs::read_file(state_dir + "/" + kSpareRecord);
  if (!dir || dir->empty()) return;
  (void)fs::remove_tree(*dir);
}

Status VmBackend::take_spare(runtime::Creation& c, const VmPlan& restore_plan) {
  if (auto why = pool_unfit(restore_plan); !why.empty()) {
    log::debug("VM pool not used (" + why + ")");
    return ok();
  }
  pid_t foreground = c.mode == runtime::LaunchMode::foreground ? ::getpid() : 0;
  auto s = OCL_TRY(claim_spare(pool_dir(g_.root), fs::basename(template_->dir), 1, 2, foreground));
  if (!s) return ok();
  spare_ = std::move(*s);
  spare_vmm_.reset(::fcntl(spare_->vmm_pidfd.get(), F_DUPFD_CLOEXEC, 3));
  spare_keeper_ = std::move(spare_->keeper_pidfd);
  std::string dir = c.store.dir(c.o.id);
  OCL_CHECK(fs::write_file(dir + "/" + kSpareRecord, spare_->dir, 0600));
  // (Its keeper marked the spare claimed before it answered: no other create or stop takes it.)
  for (const auto& n : spare_entries()) {
    std::string link = dir + "/" + n;
    ::unlink(link.c_str());
    if (::symlink((spare_->dir + "/" + n).c_str(), link.c_str()) != 0) return Error::last("link " + quote(link));
  }
  log_path_ = dir + "/vmm.log";
  log::step("spare claimed");
  return ok();
}

Status VmBackend::serve_spare_shares() {
  const auto& slots = restore_plan_->shares;
  if (slots.size() != spare_->share_socks.size())
    return Error::make("the spare has " + std::to_string(spare_->share_socks.size()) + " share slots, the plan " +
                       std::to_string(slots.size()));
  UniqueFd log(::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!log.valid()) return Error::last("open " + quote(log_path_));
  for (size_t i = 0; i < slots.size(); ++i) {
    auto h = OCL_TRY(spawn_share_helper(plan_.share_helper, slots[i].host_path, slots[i].readonly,
                                        spare_->share_socks[i].get(), log.get()));
    spare_helpers_.push_back(h.pid);
    OCL_CHECK(release_helper(h));
  }
  spare_->share_socks.clear();  // the helpers hold them now
  return ok();
}

Status VmBackend::start_spare(runtime::Creation& c) {
  if (exiting(spare_->vmm)) return Error{EPIPE, "its VMM is exiting"};
  restore_normal_priority(spare_->vmm);
  restore_normal_priority(spare_->keeper);
  OCL_CHECK(serve_spare_shares());
  OCL_CHECK(send_plan(c));
  if (exiting(spare_->vmm)) return Error{EPIPE, "its VMM is exiting"};
  return ok();
}

Status VmBackend::boot_spare(runtime::Creation& c) {
  int64_t t0 = monotonic_ms();
  // The keeper relays the workload's output from now on: in the container's cgroup, with the
  // helpers (the core put the VMM there).
  if (c.cg) {
    OCL_CHECK(c.cg->add_process(spare_->keeper));
    for (pid_t h : spare_helpers_) OCL_CHECK(c.cg->add_process(h));
  }
  log::step("spare's keeper and helpers in the cgroup");
  return await_ready(c, *restore_plan_, t0, "taken from the pool (" + fs::basename(spare_->dir) + ")");
}

void VmBackend::give_up_spare(runtime::Creation& c, const Error& why) noexcept {
  log::debug("the pool's spare did not take the plan (" + why.msg + "): restoring the template");
  drop_spare(c);
}

void VmBackend::drop_spare(runtime::Creation& c) noexcept {
  if (spare_vmm_.valid()) (void)::syscall(SYS_pidfd_send_signal, spare_vmm_.get(), SIGKILL, nullptr, 0);
  std::string dir = c.store.dir(c.o.id);
  for (const auto& n : spare_entries()) ::unlink((dir + "/" + n).c_str());
  forget_spare(dir);
  ::unlink((dir + "/" + kSpareRecord).c_str());
  ctl_.reset();
  ctl_frames_.reset();
  spare_.reset();
  spare_helpers_.clear();
  spare_vmm_.reset();
  spare_keeper_.reset();
  log_path_ = dir + "/vmm.log";
}

void VmBackend::refill_pool() noexcept {
  if (g_.vm_pool == 0 || !restore_plan_ || !template_ || !pool_unfit(*restore_plan_).empty()) return;
  PoolSettings s;
  s.size = g_.vm_pool;
  s.idle_s = g_.vm_pool_idle_s;
  vm::refill_pool(pool_dir(g_.root), *restore_plan_, *template_, empty_dir_,
                  fs::dirname(runtime::self_path()) + "/ocelot-agent", s);
}

}  // namespace ocelot::vm
