#include "cli/app.h"

#include "runtime/criu.h"

#include <seccomp.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/logging.h"
#include "runtime/rootless.h"

#ifndef OCELOT_VERSION
#define OCELOT_VERSION "0.0.0"
#endif
#ifndef OCELOT_COMMIT
#define OCELOT_COMMIT "unknown"
#endif

namespace ocelot::cli {

namespace {

using K = FlagDef::Kind;

const std::vector<FlagDef> kCreateFlags = {
    {"bundle", "b", K::Value, "path to the root of the bundle directory (default: current directory)"},
    {"console-socket", "", K::Value, "path to an AF_UNIX socket which will receive the pty master"},
    {"pid-file", "", K::Value, "file to write the process id to"},
    {"no-pivot", "", K::Bool, "do not use pivot_root to jail the process inside the rootfs"},
    {"no-new-keyring", "", K::Bool, "do not create a new session keyring for the container"},
    {"preserve-fds", "", K::Value, "pass N additional file descriptors to the container"},
};

std::vector<FlagDef> run_flags() {
  auto f = kCreateFlags;
  f.push_back({"detach", "d", K::Bool, "detach from the container's process"});
  f.push_back({"keep", "", K::Bool, "do not delete the container after it exits"});
  return f;
}

// runc's checkpoint and restore flags; the ones ocelot cannot honour are refused by name.
const std::vector<FlagDef> kCriuFlags = {
    {"image-path", "", K::Value, "path for saving CRIU image files (default: ./checkpoint)"},
    {"work-path", "", K::Value, "path for saving work files and logs (default: the image path)"},
    {"tcp-established", "", K::Bool, "allow open TCP connections"},
    {"ext-unix-sk", "", K::Bool, "allow external unix sockets"},
    {"shell-job", "", K::Bool, "allow shell jobs"},
    {"file-locks", "", K::Bool, "handle file locks, for safety"},
    {"manage-cgroups-mode", "", K::Value, "cgroups mode: soft (default), full, strict or ignore"},
    {"empty-ns", "", K::Multi, "create a namespace, but do not restore its properties (network)"},
    {"auto-dedup", "", K::Bool, "enable auto deduplication of memory images"},
    {"lazy-pages", "", K::Bool, "use userfaultfd to lazily restore memory pages (not supported)"},
    {"page-server", "", K::Value, "ADDRESS:PORT of the page server (not supported)"},
    {"status-fd", "", K::Value, "criu writes \\0 to this FD once lazy-pages is ready (not supported)"},
};
std::vector<FlagDef> checkpoint_flags() {
  auto f = kCriuFlags;
  f.push_back({"parent-path", "", K::Value, "path for previous criu image files in pre-dump"});
  f.push_back({"leave-running", "", K::Bool, "leave the process running after checkpointing"});
  f.push_back({"pre-dump", "", K::Bool, "dump the container's memory information only, leave it running"});
  return f;
}
const std::vector<FlagDef> kCheckpointFlags = checkpoint_flags();
std::vector<FlagDef> restore_flags() {
  auto f = kCriuFlags;
  f.push_back({"bundle", "b", K::Value, "path to the root of the bundle directory (default: current directory)"});
  f.push_back({"console-socket", "", K::Value, "path to an AF_UNIX socket which will receive the pty master"});
  f.push_back({"detach", "d", K::Bool, "detach from the container's process"});
  f.push_back({"pid-file", "", K::Value, "file to write the process id to"});
  f.push_back({"no-subreaper", "", K::Bool, "disable the use of the subreaper (ocelot never is one)"});
  f.push_back({"no-pivot", "", K::Bool, "do not use pivot root to jail process inside rootfs (not supported)"});
  f.push_back({"lsm-profile", "", K::Value, "type:label of the restored processes (not supported)"});
  f.push_back({"lsm-mount-context", "", K::Value, "SELinux mount context of the restored mounts (not supported)"});
  return f;
}

const std::vector<FlagDef> kListFlags = {{"format", "f", K::Value, "table or json"},
                                         {"quiet", "q", K::Bool, "display only container IDs"}};
const std::vector<FlagDef> kKillFlags = {{"all", "a", K::Bool, "send the signal to all processes in the container"}};
const std::vector<FlagDef> kDeleteFlags = {{"force", "f", K::Bool, "forcibly delete a running container (SIGKILL)"}};
const std::vector<FlagDef> kExecFlags = {
    {"console-socket", "", K::Value, "path to an AF_UNIX socket which will receive the pty master"},
    {"cwd", "", K::Value, "current working directory in the container"},
    {"env", "e", K::Multi, "set environment variables"},
    {"tty", "t", K::Bool, "allocate a pseudo-TTY"},
    {"user", "u", K::Value, "UID (format: <uid>[:<gid>])"},
    {"additional-gids", "g", K::Multi, "additional gids"},
    {"process", "p", K::Value, "path to the process.json"},
    {"detach", "d", K::Bool, "detach from the container's process"},
    {"pid-file", "", K::Value, "file to write the process id to"},
    {"process-label", "", K::Value, "set the asm process label for the process"},
    {"apparmor", "", K::Value, "set the apparmor profile for the process"},
    {"no-new-privs", "", K::Bool, "set the no new privileges value for the process"},
    {"cap", "c", K::Multi, "add a capability to the bounding set for the process"},
    {"preserve-fds", "", K::Value, "pass N additional file descriptors to the container"},
    {"cgroup", "", K::Multi, "run the process in a (sub)cgroup"},
    {"ignore-paused", "", K::Bool, "allow exec in a paused container"}};
const std::vector<FlagDef> kPsFlags = {{"format", "f", K::Value, "table or json"}};
const std::vector<FlagDef> kUpdateFlags = {
    {"resources", "r", K::Value, "path to a file with the resources JSON to update, or - for stdin"},
    {"blkio-weight", "", K::Value, "block IO weight (10-1000)"},
    {"cpu-period", "", K::Value, "CPU CFS period in microseconds"},
    {"cpu-quota", "", K::Value, "CPU CFS quota in microseconds"},
    {"cpu-burst", "", K::Value, "CPU CFS burst in microseconds"},
    {"cpu-share", "", K::Value, "CPU shares (relative weight)"},
    {"cpu-rt-period", "", K::Value, "CPU realtime period in microseconds"},
    {"cpu-rt-runtime", "", K::Value, "CPU realtime runtime in microseconds"},
    {"cpuset-cpus", "", K::Value, "CPUs to use"},
    {"cpuset-mems", "", K::Value, "memory nodes to use"},
    {"memory", "", K::Value, "memory limit in bytes"},
    {"memory-reservation", "", K::Value, "memory reservation (soft limit) in bytes"},
    {"memory-swap", "", K::Value, "total memory + swap limit in bytes"},
    {"kernel-memory", "", K::Value, "deprecated, ignored"},
    {"kernel-memory-tcp", "", K::Value, "deprecated, ignored"},
    {"pids-limit", "", K::Value, "maximum number of pids"},
    {"l3-cache-schema", "", K::Value, "intel RDT L3 cache schema (not supported)"},
    {"mem-bw-schema", "", K::Value, "intel RDT memory bandwidth schema (not supported)"}};
const std::vector<FlagDef> kEventsFlags = {{"interval", "", K::Value, "interval between stats (default 5s)"},
                                           {"stats", "", K::Bool, "display the container's stats once, then exit"}};
const std::vector<FlagDef> kSpecFlags = {
    {"bundle", "b", K::Value, "path to the root of the bundle directory"},
    {"rootless", "", K::Bool, "generate a configuration for a rootless container"}};
const std::vector<FlagDef> kCompareFlags = {
    {"runs", "n", K::Value, "runs of each kind per mode (default 3)"},
    {"format", "f", K::Value, "table, markdown or json"},
    {"chart", "", K::Value, "also write an SVG bar chart to this file"},
    {"with", "", K::Multi, "add another runtime as a column: runc or crun"},
    {"timeout", "", K::Value, "seconds the bundle's process may run (default 120)"}};

// Global options (runc's, and ocelot's own), before the command.
const std::vector<FlagDef> kGlobalFlags = {
    {"root", "", K::Value,
     "root directory for container state (default: /run/ocelot, $XDG_RUNTIME_DIR/ocelot for non-root)"},
    {"log", "", K::Value, "write ocelot's log to this file (default: stderr)"},
    {"log-format", "", K::Value, "text or json (default: text)"},
    {"debug", "", K::Bool, "enable debug logging"},
    {"systemd-cgroup", "", K::Bool, "make each container's cgroup a transient systemd scope (slice:prefix:name paths)"},
    {"rootless", "", K::Value, "true, false or auto (default: auto)"},
    {"criu", "", K::Value, "path to the criu binary"},
    {"isolation", "", K::Value, "container or vm (default: container; also the annotation org.ocelot.isolation)"},
    {"vm-kernel", "", K::Value, "guest kernel for VM isolation (default: the one `make vm-setup` prepared)"},
    {"vm-template", "", K::Value, "on or off: start VM guests from a booted template (default: on)"},
    {"vm-pool", "", K::Value,
     "off or N: keep N warmed VM guests per size class for the next VM containers (default: 1)"},
    {"vm-pool-idle", "", K::Value, "seconds an unclaimed warmed VM guest is kept (default: 300)"},
    {"version", "v", K::Bool, "print the version"},
    {"help", "h", K::Bool, "show help"}};

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> t = {
      {"create", "[options] <container-id>", "create a container", kCreateFlags, false, cmd_create},
      {"start", "<container-id>", "start a created container", {}, false, cmd_start},
      {"run", "[options] <container-id>", "create and run a container", run_flags(), false, cmd_run},
      {"state", "<container-id>", "output the state of a container", {}, false, cmd_state},
      {"list", "[options]", "list containers started by ocelot with the given root", kListFlags, false, cmd_list},
      {"kill", "[options] <container-id> [signal]", "send a signal (default SIGTERM) to the container's init",
       kKillFlags, false, cmd_kill},
      {"delete", "[options] <container-id>", "delete a container", kDeleteFlags, false, cmd_delete},
      {"exec", "[options] <container-id> <command> [args...]", "run a process in a running container", kExecFlags, true,
       cmd_exec},
      {"ps", "[options] <container-id> [ps options]", "show processes running inside the container", kPsFlags, true,
       cmd_ps},
      {"pause", "<container-id>", "suspend all processes of the container", {}, false, cmd_pause},
      {"resume", "<container-id>", "resume all processes of the container", {}, false, cmd_resume},
      {"update", "[options] <container-id>", "update container resource constraints", kUpdateFlags, false, cmd_update},
      {"events", "[options] <container-id>", "display container events such as OOM notifications and stats",
       kEventsFlags, false, cmd_events},
      {"spec", "[options]", "create a new specification file", kSpecFlags, false, cmd_spec},
      {"features", "", "show the enabled features", {}, false, cmd_features},
      {"vm-pool",
       "status|stop|wait",
       "show, stop or wait for the warmed VM guests kept for VM containers",
       {},
       false,
       cmd_vm_pool},
      {"compare", "[options] <bundle>", "run the bundle as a container and as a VM and compare them, measured",
       kCompareFlags, false, cmd_compare},
      {"checkpoint", "[options] <container-id>", "checkpoint a running container with CRIU", kCheckpointFlags, false,
       cmd_checkpoint},
      {"restore", "[options] <container-id>", "restore a container from a checkpoint with CRIU", restore_flags(), false,
       cmd_restore},
  };
  return t;
}

Result<std::string> one_id(const Flags& f, const char* command) {
  if (f.args.empty()) return Error::make(std::string(command) + ": container id cannot be empty");
  if (f.args.size() > 1)
    return Error::make(std::string(command) + ": expected exactly one container id, got " +
                       std::to_string(f.args.size()) + " arguments");
  return f.args[0];
}

void print(const std::string& s) {
  const char* p = s.data();
  size_t n = s.size();
  while (n > 0) {
    ssize_t w = ::write(1, p, n);
    if (w <= 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

static std::string version_text() {
  const struct scmp_version* v = seccomp_version();
  return std::string("ocelot version ") + OCELOT_VERSION + "\ncommit: " + OCELOT_COMMIT + "\nspec: 1.2.0\n" +
         "libseccomp: " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro) +
         "\n";
}

static std::string main_help() {
  std::string out =
      "ocelot: a low-level OCI container runtime\n\n"
      "usage: ocelot [global options] <command> [command options] [arguments...]\n\n"
      "commands:\n";
  for (const auto& c : commands()) {
    std::string n = std::string("  ") + c.name;
    n.resize(16, ' ');
    out += n + c.summary + "\n";
  }
  std::string flags = flags_help("", "", kGlobalFlags);
  return out + "\nglobal " + flags.substr(flags.find("options:"));
}

namespace {

// runc's global flags as urfave/cli takes them: --name value, --name=value, -name value,
// -name=value; a boolean also as --name=true|false. Stops at the first word that is not a flag
// (the command). Hand-parsed: cheaper than a second cxxopts parser on every start.
Result<Flags> parse_globals(const std::vector<std::string>& args, size_t& i) {
  Flags g;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') break;
    std::string body = a.substr(a.rfind("--", 0) == 0 ? 2 : 1);
    std::string name = body.substr(0, body.find('='));
    bool inline_value = body.find('=') != std::string::npos;
    const FlagDef* d = nullptr;
    for (const auto& f : kGlobalFlags)
      if (name == f.name || (name.size() == 1 && name == f.short_name)) d = &f;
    if (!d) return Error::make("unknown global flag " + quote(a));
    std::string value = inline_value ? body.substr(body.find('=') + 1) : "";
    if (d->kind == K::Bool) {
      if (inline_value && value != "true" && value != "false")
        return Error::make("invalid value " + quote(value) + " for flag -" + std::string(d->name));
      g.values[d->name] = {inline_value ? value : "true"};
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return Error::make("flag needs an argument: " + a);
      value = args[++i];
    }
    g.values[d->name] = {value};
  }
  return g;
}

// The command's context from the global flags: state root, logging, isolation, VM options.
// A whole decimal number from 0 to max.
std::optional<unsigned long> parse_count(const std::string& s, unsigned long max) {
  if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  unsigned long v = std::stoul(s);
  if (v > max) return std::nullopt;
  return v;
}

Result<Context> make_context(const Flags& g, const std::string& argv0) {
  Context ctx;
  // runc's rule: without root, or as "root" of a user namespace (rootless podman), the state
  // lives in $XDG_RUNTIME_DIR.
  if (const char* xdg = ::getenv("XDG_RUNTIME_DIR");
      xdg && *xdg && (::geteuid() != 0 || runtime::running_in_user_namespace()))
    ctx.globals.root = std::string(xdg) + "/ocelot";
  ctx.globals.root = g.get("root", ctx.globals.root);
  ctx.globals.systemd_cgroup = g.on("systemd-cgroup");
  ctx.globals.rootless = g.get("rootless", "auto");
  ctx.globals.vm_kernel = g.get("vm-kernel");
  ctx.globals.criu = g.get("criu");
  std::string log_format = g.get("log-format", "text");
  if (log_format != "text" && log_format != "json")
    return Error::make("invalid --log-format " + quote(log_format) + ": expected text or json");
  if (ctx.globals.rootless != "auto" && ctx.globals.rootless != "true" && ctx.globals.rootless != "false")
    return Error::make("invalid --rootless " + quote(ctx.globals.rootless) + ": expected true, false or auto");
  LogConfig log{g.get("log"), log_format == "json", g.on("debug")};
  init_logging(log);
  ctx.debug = log.debug;
  // Invoked as ocelot-vm: VM isolation unless --isolation says otherwise.
  std::string isolation = g.get("isolation");
  if (isolation.empty() && argv0.size() >= 9 && argv0.compare(argv0.size() - 9, 9, "ocelot-vm") == 0) isolation = "vm";
  if (!isolation.empty() && !isolation::find(isolation)) {
    std::string names;
    for (const auto& b : isolation::backends()) names += (names.empty() ? "" : " or ") + std::string(b.name);
    return Error::make("--isolation " + quote(isolation) + ": expected " + names);
  }
  ctx.isolation = isolation;
  std::string vm_template = g.get("vm-template", "on");
  if (vm_template != "on" && vm_template != "off")
    return Error::make("--vm-template " + quote(vm_template) + ": expected on or off");
  ctx.globals.vm_template = vm_template == "on";
  std::string pool = g.get("vm-pool", "1");
  auto count = pool == "off" ? std::optional<unsigned long>(0) : parse_count(pool, 16);
  if (!count) return Error::make("--vm-pool " + quote(pool) + ": expected off or a number from 0 to 16");
  ctx.globals.vm_pool = static_cast<unsigned>(*count);
  std::string idle = g.get("vm-pool-idle", "300");
  auto idle_s = parse_count(idle, 86400);
  if (!idle_s || *idle_s == 0)
    return Error::make("--vm-pool-idle " + quote(idle) + ": expected seconds from 1 to 86400");
  ctx.globals.vm_pool_idle_s = static_cast<int>(*idle_s);
  return ctx;
}

int dispatch(Context& ctx, const Command& c, const std::vector<std::string>& rest) {
  std::string name = c.name;
  auto f = parse_flags(name, c.flags, rest, c.stop_after_first);
  if (!f) {
    report_error(f.error().msg);
    return 1;
  }
  if (f->on("help")) {
    print(flags_help(name, c.usage, c.flags));
    if (c.run == cmd_checkpoint || c.run == cmd_restore)
      print("\nCRIU: " + runtime::criu_summary(ctx.globals.criu) + "\n");
    return 0;
  }
  // Below cli/ nothing throws on purpose; anything that still does (a library's exception, an
  // allocation failure) becomes one line and exit 1, never an abort.
  try {
    auto r = c.run(ctx, *f);
    if (!r) {
      report_error(r.error().msg);
      return 1;
    }
    return *r;
  } catch (const std::exception& e) {
    report_error(name + ": internal error: " + e.what());
    return 1;
  }
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t i = 0;
  auto g = parse_globals(args, i);
  if (!g) {
    report_error(g.error().msg);
    return 1;
  }
  if (g->on("version")) {
    print(version_text());
    return 0;
  }
  if (g->on("help") || i >= args.size() || args[i] == "help") {
    print(main_help());
    return 0;
  }
  auto ctx = make_context(*g, argc > 0 ? argv[0] : "ocelot");
  if (!ctx) {
    report_error(ctx.error().msg);
    return 1;
  }
  for (const auto& c : commands())
    if (args[i] == c.name) return dispatch(*ctx, c, {args.begin() + static_cast<long>(i) + 1, args.end()});
  report_error("no such command " + quote(args[i]));
  return 1;
}

}  // namespace ocelot::cli
