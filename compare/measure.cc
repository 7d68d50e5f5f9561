#include "compare/measure.h"

#include "base/strings.h"
#include "compare/netfixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "base/clock.h"
#include "base/fs.h"
#include "base/unique_fd.h"
#include "cgroups/layout.h"
#include "runtime/safe_exe.h"
#include "vm/share/guest_config.h"
#include "vm/transport/protocol.h"
#include "vm/vmm/image.h"

namespace ocelot::compare {

using nlohmann::json;

namespace {

constexpr const char* kProbeDir = "/.ocelot-compare";
constexpr const char* kProbeName = "ocelot-compare-probe";

int64_t realtime_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Finished {
  int code = -1;  // exit code, 128+signal
  bool timed_out = false;
  double wall_ms = 0;
  int64_t launched_ns = 0;  // CLOCK_REALTIME just before the fork
  std::string out, err;
};

std::string read_memfd(int fd) {
  std::string s;
  ::lseek(fd, 0, SEEK_SET);
  char b[8192];
  ssize_t n;
  while ((n = ::read(fd, b, sizeof b)) > 0) s.append(b, static_cast<size_t>(n));
  return s;
}

// Runs argv with stdin from /dev/null and stdout/stderr in memory files (a detached container
// inherits them; a file never waits for it to close them, a pipe would).
Result<Finished> run_process(const std::vector<std::string>& argv, int timeout_s) {
  UniqueFd out(::memfd_create("compare-out", MFD_CLOEXEC)), err(::memfd_create("compare-err", MFD_CLOEXEC));
  if (!out.valid() || !err.valid()) return Error::last("memfd_create");
  std::vector<std::string> argv_s = argv;
  CStrings a(argv_s);
  Finished f;
  f.launched_ns = realtime_ns();
  double t0 = monotonic_ms_exact();
  pid_t pid = ::fork();
  if (pid < 0) return Error::last("fork");
  if (pid == 0) {
    int nul = ::open("/dev/null", O_RDONLY);
    if (nul < 0 || ::dup2(nul, 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) ::_exit(127);
    ::execv(a.data()[0], a.data());
    ::_exit(127);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  struct pollfd p = {pidfd.get(), POLLIN, 0};
  int n = pidfd.valid() ? ::poll(&p, 1, timeout_s * 1000) : 1;
  if (n == 0) {
    f.timed_out = true;
    ::kill(pid, SIGKILL);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  f.wall_ms = monotonic_ms_exact() - t0;
  f.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  f.out = read_memfd(out.get());
  f.err = read_memfd(err.get());
  return f;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::map<std::string, std::string> key_values(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    if (sp != std::string::npos) kv[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return kv;
}

// ocelot --debug's `timing: STEP at T ms` lines, as (step, ms since the step before).
std::vector<std::pair<std::string, double>> steps_of(const std::string& log) {
  std::vector<std::pair<std::string, double>> out;
  double prev = 0;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find("timing: ");
    auto b = line.rfind(" at ");
    if (a == std::string::npos || b == std::string::npos || b < a) continue;
    double t = std::strtod(line.c_str() + b + 4, nullptr);
    out.emplace_back(line.substr(a + 8, b - a - 8), t - prev);
    prev = t;
  }
  return out;
}

double pss_mib(pid_t pid) {
  auto t = fs::read_file("/proc/" + std::to_string(pid) + "/smaps_rollup");
  if (!t) return -1;
  auto p = t->find("\nPss:");
  if (p == std::string::npos) return -1;
  return std::strtod(t->c_str() + p + 5, nullptr) / 1024.0;
}

// One way of running the bundle: a column of the report.
struct Mode {
  std::string name;
  std::vector<std::string> base;  // the runtime's argv up to the command
  bool ocelot = true;
  bool vm = false;
};

// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann's json destructor does not throw.
struct Prepared {
  std::string work, root, workload_bundle, probe_bundle, idle_bundle, probe_bin_dir;
  std::string rootfs;
  bool made_probe_dir = false;
  json config;
  std::optional<NetFixture> net;  // the probe's network (compare/netfixture.h)
  std::string net_note;           // why there is none
};

// A string member, or "" (value() throws on a member of another type, or on a non-object).
std::string string_member(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// Seccomp: how many host syscalls the profile lets through.
std::string syscall_reach(const json& c) {
  if (!c.contains("linux") || !c["linux"].contains("seccomp") || !c["linux"]["seccomp"].is_object())
    return "all (no seccomp filter)";
  const auto& s = c["linux"]["seccomp"];
  std::string def = string_member(s, "defaultAction");
  bool allow_default = def == "SCMP_ACT_ALLOW" || def == "SCMP_ACT_LOG";
  size_t n = 0;
  if (s.contains("syscalls") && s["syscalls"].is_array())
    for (const auto& r : s["syscalls"]) {
      std::string act = string_member(r, "action");
      bool allows = act == "SCMP_ACT_ALLOW" || act == "SCMP_ACT_LOG";
      if (allows != allow_default && r.is_object() && r.contains("names") && r["names"].is_array())
        n += r["names"].size();
    }
  if (allow_default) return "all but " + std::to_string(n) + " (seccomp deny-list)";
  return std::to_string(n) + " (seccomp allow-list)";
}

std::vector<std::string> namespaces_of(const json& c) {
  std::vector<std::string> v;
  if (c.contains("linux") && c["linux"].contains("namespaces") && c["linux"]["namespaces"].is_array())
    for (const auto& n : c["linux"]["namespaces"])
      if (n.is_object() && n.contains("type") && n["type"].is_string()) v.push_back(n["type"].get<std::string>());
  return v;
}

size_t config_devices(const json& c) {
  if (c.contains("linux") && c["linux"].contains("devices") && c["linux"]["devices"].is_array())
    return c["linux"]["devices"].size();
  return 0;
}

Result<Prepared> prepare(const Options& o, const std::string& probe) {
  Prepared p;
  char buf[PATH_MAX];
  if (!::realpath(o.bundle.c_str(), buf)) return Error::last("bundle " + quote(o.bundle));
  std::string bundle = buf;
  auto text = fs::read_file(bundle + "/config.json");
  if (!text) return std::move(text).error().wrap("bundle " + quote(bundle));
  p.config = json::parse(*text, nullptr, false);
  if (p.config.is_discarded() || !p.config.is_object()) return Error::make(bundle + "/config.json: not a JSON object");
  if (!p.config.contains("process") || !p.config["process"].is_object() || !p.config["process"].contains("args"))
    return Error::make(bundle + "/config.json: process.args: missing required field");
  if (!p.config.contains("root") || !p.config["root"].contains("path") || !p.config["root"]["path"].is_string())
    return Error::make(bundle + "/config.json: root.path: missing required field");
  std::string root_path = p.config["root"]["path"].get<std::string>();
  p.rootfs = fs::clean_abs(root_path[0] == '/' ? root_path : bundle + "/" + root_path);
  if (!fs::is_dir(p.rootfs)) return Error::sys(ENOENT, "rootfs " + quote(p.rootfs));

  char tmpl[] = "/tmp/ocelot-compare.XXXXXX";
  if (!::mkdtemp(tmpl)) return Error::last("create a work directory");
  p.work = tmpl;
  if (auto net = NetFixture::start(p.work))
    p.net.emplace(std::move(*net));
  else
    p.net_note = net.error().msg;
  p.root = p.work + "/state";
  p.probe_bin_dir = p.work + "/probe";
  OCL_CHECK(fs::mkdir_p(p.probe_bin_dir, 0755));
  auto bytes = fs::read_file(probe);
  if (!bytes) return Error::make("the compare probe " + quote(probe) + " is missing (build it with `make`)");
  OCL_CHECK(fs::write_file(p.probe_bin_dir + "/" + kProbeName, *bytes, 0755));

  // The bundle as given, without a terminal (nobody types into a comparison) and with the
  // isolation chosen by the command line, not by an annotation.
  json c = p.config;
  c["root"]["path"] = p.rootfs;
  c["process"]["terminal"] = false;
  if (c.contains("annotations") && c["annotations"].is_object()) c["annotations"].erase("org.ocelot.isolation");
  auto write_bundle = [&](const std::string& name, const json& cfg) -> Result<std::string> {
    std::string d = p.work + "/" + name;
    OCL_CHECK(fs::mkdir_p(d, 0755));
    OCL_CHECK(fs::write_file(d + "/config.json", cfg.dump(), 0644));
    return d;
  };
  p.workload_bundle = OCL_TRY(write_bundle("workload", c));
  json pc = c;
  if (!pc.contains("mounts") || !pc["mounts"].is_array()) pc["mounts"] = json::array();
  pc["mounts"].push_back({{"destination", std::string(kProbeDir) + "/bin"},
                          {"type", "bind"},
                          {"source", p.probe_bin_dir},
                          {"options", {"rbind", "ro", "nosuid", "nodev"}}});
  pc["mounts"].push_back({{"destination", std::string(kProbeDir) + "/tmp"},
                          {"type", "tmpfs"},
                          {"source", "tmpfs"},
                          {"options", {"nosuid", "nodev", "size=64m"}}});
  std::string exe = std::string(kProbeDir) + "/bin/" + kProbeName;
  pc["process"]["args"] = {exe, "measure", std::string(kProbeDir) + "/tmp"};
  if (p.net) {
    // The probe joins the comparison's network namespace by path, as a pod's containers join a
    // CNI-made one: the same veth for every mode.
    pc["process"]["args"].push_back(NetFixture::kHostAddr);
    if (!pc.contains("linux") || !pc["linux"].is_object()) pc["linux"] = json::object();
    if (!pc["linux"].contains("namespaces") || !pc["linux"]["namespaces"].is_array())
      pc["linux"]["namespaces"] = json::array();
    auto& nss = pc["linux"]["namespaces"];
    json* net = nullptr;
    for (auto& n : nss)
      if (n.is_object() && string_member(n, "type") == "network") net = &n;
    if (!net) {
      nss.push_back({{"type", "network"}});
      net = &nss.back();
    }
    (*net)["path"] = p.net->netns();
  }
  p.probe_bundle = OCL_TRY(write_bundle("probe", pc));
  if (p.net) pc["process"]["args"].erase(pc["process"]["args"].end() - 1);
  pc["process"]["args"] = {exe, "sleep", "600"};
  p.idle_bundle = OCL_TRY(write_bundle("idle", pc));

  // The probe's mount points, made here (the rootfs may be read-only in the container).
  std::string pd = p.rootfs + kProbeDir;
  if (!fs::exists(pd)) {
    if (::mkdir(pd.c_str(), 0755) != 0) return Error::last("create " + quote(pd) + " for the compare probe");
    p.made_probe_dir = true;
  }
  for (const char* sub : {"/bin", "/tmp"}) (void)::mkdir((pd + sub).c_str(), 0755);
  return p;
}

void cleanup(Prepared& p) {
  p.net.reset();  // its namespace's pin is a mount in the work directory
  if (p.made_probe_dir) (void)fs::remove_tree(p.rootfs + kProbeDir);
  ::unlink((p.rootfs + "/.ocelot-compare-io").c_str());  // a probe killed half way
  (void)fs::remove_tree(p.work);
}

// One mode's measurements: its own runs of the bundle's process, of the probe, and one idle
// instance, each through that mode's `run`, fresh and cleaned up.
class ModeRunner {
 public:
  ModeRunner(const Options& o, const Prepared& p, const Mode& m, ModeResult& r, int& done, int total)
      : o_(o), p_(p), m_(m), r_(r), done_(done), total_(total) {}

  Status measure() {
    OCL_CHECK(workload_runs());
    OCL_CHECK(probe_runs());
    OCL_CHECK(idle_instance());
    summarize();
    return ok();
  }

 private:
  std::string new_id() {
    static int counter = 0;
    return "compare-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  }
  void step() {
    ++done_;
    if (o_.progress) o_.progress(done_, total_);
  }
  void remove(const std::string& cid) {
    auto argv = m_.base;
    argv.insert(argv.end(), {"delete", "-f", cid});
    (void)run_process(argv, 30);
  }
  Result<Finished> run(const std::string& bundle, const std::string& cid, const std::string& log, bool detach) {
    auto argv = m_.base;
    if (m_.ocelot) argv.insert(argv.end(), {"--debug", "--log", log});
    argv.emplace_back("run");
    if (detach) argv.emplace_back("-d");
    argv.insert(argv.end(), {"--bundle", bundle, cid});
    auto f = run_process(argv, o_.timeout_s);
    if (f && f->timed_out) remove(cid);
    return f;
  }
  // The --debug step timings of one run (and, for a VM, whether it came from a template).
  void take_log(const std::string& log) {
    auto text = fs::read_file(log);
    ::unlink(log.c_str());
    if (!text) return;
    for (const auto& [name, ms] : steps_of(*text)) {
      if (!steps_.count(name)) step_order_.push_back(name);
      steps_[name].push_back(ms);
    }
    if (m_.vm) {
      ++vm_runs_;
      if (text->find("restored from template") != std::string::npos) ++from_template_;
    }
  }

  Status workload_runs() {
    for (int i = 0; i < o_.runs; ++i) {
      std::string cid = new_id(), log = p_.work + "/" + cid + ".log";
      Finished f = OCL_TRY(run(p_.workload_bundle, cid, log, false));
      if (f.timed_out)
        return Error::make(m_.name + ": the bundle's process did not exit in " + std::to_string(o_.timeout_s) +
                           " s (compare measures processes that exit; --timeout SECS)");
      r_.exit_code = f.code;
      // 255: the runtime itself failed (any other code is the bundle's process's, reported as such).
      if (f.code == 255)
        return Error::make(m_.name +
                           ": could not run the bundle: " + (f.err.empty() ? "exit code 255" : first_line(f.err)));
      run_ms_.push_back(f.wall_ms);
      take_log(log);
      step();
    }
    return ok();
  }

  Status probe_runs() {
    for (int i = 0; i < o_.runs; ++i) {
      std::string cid = new_id(), log = p_.work + "/" + cid + ".log";
      Finished f = OCL_TRY(run(p_.probe_bundle, cid, log, false));
      ::unlink(log.c_str());
      if (f.code != 0)
        return Error::make(m_.name + ": the compare probe failed (" + std::to_string(f.code) +
                           "): " + first_line(f.err.empty() ? f.out : f.err));
      auto kv = key_values(f.out);
      if (kv.count("start_ns"))
        first_ms_.push_back(static_cast<double>(std::strtoll(kv["start_ns"].c_str(), nullptr, 10) - f.launched_ns) /
                            1e6);
      for (const char* k : {"syscall_ns", "tmpfs_write_mbs", "tmpfs_read_mbs", "rootfs_write_mbs", "rootfs_read_mbs",
                            "fork_exec_per_s", "cpu_mops", "net_rtt_us", "net_mbs"})
        if (kv.count(k)) probe_[k].push_back(std::strtod(kv[k].c_str(), nullptr));
      r_.kernel_release = kv["kernel_release"];
      r_.kernel_version = kv["kernel_version"];
      r_.machine = kv["machine"];
      r_.rootfs_io_note = kv.count("rootfs_io") ? kv["rootfs_io"] : "";
      r_.network_note = !p_.net ? p_.net_note : kv.count("net") ? "the probe could not connect: " + kv["net"] : "";
      step();
    }
    return ok();
  }

  // One idle instance: what it holds on the host (the VMM for a VM, the process for a container).
  Status idle_instance() {
    std::string cid = new_id(), log = p_.work + "/" + cid + ".log";
    Finished f = OCL_TRY(run(p_.idle_bundle, cid, log, true));
    ::unlink(log.c_str());
    if (f.code != 0) {
      remove(cid);
      return Error::make(m_.name + ": run -d of an idle instance failed: " + first_line(f.err));
    }
    ::usleep(500000);
    auto argv = m_.base;
    argv.insert(argv.end(), {"state", cid});
    auto st = run_process(argv, 30);
    if (st && st->code == 0) {
      json s = json::parse(st->out, nullptr, false);
      if (s.is_object() && s.contains("pid") && s["pid"].is_number_integer())
        r_.idle_pss_mib = pss_mib(s["pid"].get<pid_t>());
    }
    remove(cid);
    step();
    return ok();
  }

  void summarize() {
    r_.run_ms = distribution(run_ms_);
    r_.first_instruction_ms = distribution(first_ms_);
    for (auto& [k, v] : probe_) r_.probe[k] = distribution(v);
    for (const auto& s : step_order_) r_.stages.emplace_back(s, distribution(steps_[s]));
    if (m_.vm)
      r_.vm_start = from_template_ == vm_runs_ ? "from a template"
                    : from_template_ == 0
                        ? "cold boot"
                        : std::to_string(from_template_) + " of " + std::to_string(vm_runs_) + " from a template";
  }

  const Options& o_;
  const Prepared& p_;
  const Mode& m_;
  ModeResult& r_;
  int& done_;
  int total_;
  std::vector<double> run_ms_, first_ms_;
  std::map<std::string, std::vector<double>> probe_, steps_;
  std::vector<std::string> step_order_;
  int from_template_ = 0, vm_runs_ = 0;
};

Status measure_mode(const Options& o, const Prepared& p, const Mode& m, ModeResult& r, int& done, int total) {
  return ModeRunner(o, p, m, r, done, total).measure();
}

std::string find_runtime(const std::string& name) {
  for (const char* d : {"/usr/sbin/", "/usr/bin/", "/usr/local/sbin/", "/usr/local/bin/", "/sbin/", "/bin/"})
    if (::access((std::string(d) + name).c_str(), X_OK) == 0) return d + name;
  return "";
}

}  // namespace

Result<Report> run_compare(const Options& o) {
  if (o.runs < 1 || o.runs > 1000) return Error::make("--runs " + std::to_string(o.runs) + ": expected 1 to 1000");
  std::string self = runtime::self_path();
  std::string probe = fs::dirname(self) + "/" + kProbeName;
  std::vector<Mode> modes;
  modes.push_back({"container", {self}, true, false});
  // No pool: each run would find a spare, or not, depending on how soon it follows the last one
  // (bench/vm.sh measures the pool's starts apart), and nothing may outlive compare's state root.
  modes.push_back({"vm", {self, "--isolation=vm", "--vm-pool=off"}, true, true});
  if (!o.vm_template) modes.back().base.emplace_back("--vm-template=off");
  for (const auto& w : o.with) {
    if (w != "runc" && w != "crun") return Error::make("--with " + quote(w) + ": expected runc or crun");
    std::string path = find_runtime(w);
    if (path.empty()) return Error::make("--with " + w + ": " + w + " is not installed");
    modes.push_back({w, {path}, false, false});
  }
  Prepared p = OCL_TRY(prepare(o, probe));
  struct Cleanup {
    Prepared& p;
    ~Cleanup() { cleanup(p); }
  } cleanup_at_exit{p};
  for (auto& m : modes) m.base.insert(m.base.begin() + 1, {"--root", p.root + "/" + m.name});

  Report r;
  r.bundle = o.bundle;
  r.runs = o.runs;
  struct utsname u;
  if (::uname(&u) == 0) {
    r.host_kernel = u.release;
    r.host_machine = u.machine;
  }
  auto layout = cgroups::detect_layout();
  std::string host_cg = layout ? cgroups::mode_name(layout->mode) : "unknown";
  int total = static_cast<int>(modes.size()) * (2 * o.runs + 1), done = 0;
  std::string shares = "1";
  if (auto gp = vm::plan_guest(p.config.dump(), fs::dirname(p.rootfs), fs::is_dir))
    shares = std::to_string(gp->shares.size());
  for (const auto& m : modes) {
    ModeResult res;
    res.name = m.name;
    res.command = m.name == "vm" ? "ocelot --isolation=vm run" : m.ocelot ? "ocelot run" : m.name + " run";
    OCL_CHECK(measure_mode(o, p, m, res, done, total));
    res.own_kernel = m.vm;
    res.namespaces = namespaces_of(p.config);
    size_t devs = config_devices(p.config);
    if (m.vm) {
      auto qemu = vm::find_qemu();
      res.accelerator = qemu && vm::kvm_usable(*qemu) ? "KVM" : "TCG";
      res.cgroup = "VMM: host cgroup (" + host_cg + "); workload: guest cgroup v2";
      auto helper = vm::find_share_helper();
      res.host_syscalls =
          !helper || helper->empty()
              ? "none directly; the VMM: QEMU's seccomp sandbox, uid 0 with 6 capabilities, a private root"
              : "none directly; the VMM: QEMU's seccomp sandbox, its own uid, no capabilities, a private "
                "root (files: a 9p helper per share, root with 7 capabilities, chrooted)";
      res.devices = "virtio: serial (" + std::to_string(4 + vm::kExecSessions) + " ports), 9p x" + shares +
                    (p.net ? ", net x1 (the probe's)" : "") + "; guest: " + std::to_string(6 + devs) + " nodes";
    } else {
      res.cgroup = "own host cgroup (" + host_cg + ")";
      res.host_syscalls = syscall_reach(p.config);
      res.devices = std::to_string(6 + devs) + " host device nodes (6 default + " + std::to_string(devs) + ")";
    }
    r.modes.push_back(std::move(res));
  }
  return r;
}

}  // namespace ocelot::compare
