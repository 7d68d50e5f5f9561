#include "cli/app.h"

#include <seccomp.h>
#include <unistd.h>

#include <cstdlib>
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

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> t = {
      {"create", "[options] <container-id>", "create a container", kCreateFlags, false, cmd_create},
      {"start", "<container-id>", "start a created container", {}, false, cmd_start},
      {"run", "[options] <container-id>", "create and run a container", run_flags(), false, cmd_run},
      {"state", "<container-id>", "output the state of a container", {}, false, cmd_state},
      {"list",
       "[options]",
       "list containers started by ocelot with the given root",
       {{"format", "f", K::Value, "table or json"}, {"quiet", "q", K::Bool, "display only container IDs"}},
       false,
       cmd_list},
      {"kill",
       "[options] <container-id> [signal]",
       "send a signal (default SIGTERM) to the container's init",
       {{"all", "a", K::Bool, "send the signal to all processes in the container"}},
       false,
       cmd_kill},
      {"delete",
       "[options] <container-id>",
       "delete a container",
       {{"force", "f", K::Bool, "forcibly delete a running container (SIGKILL)"}},
       false,
       cmd_delete},
      {"exec",
       "[options] <container-id> <command> [args...]",
       "run a process in a running container",
       {{"console-socket", "", K::Value, "path to an AF_UNIX socket which will receive the pty master"},
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
        {"ignore-paused", "", K::Bool, "allow exec in a paused container"}},
       true,
       cmd_exec},
      {"ps",
       "[options] <container-id> [ps options]",
       "show processes running inside the container",
       {{"format", "f", K::Value, "table or json"}},
       true,
       cmd_ps},
      {"pause", "<container-id>", "suspend all processes of the container", {}, false, cmd_pause},
      {"resume", "<container-id>", "resume all processes of the container", {}, false, cmd_resume},
      {"update",
       "[options] <container-id>",
       "update container resource constraints",
       {{"resources", "r", K::Value, "path to a file with the resources JSON to update, or - for stdin"},
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
        {"mem-bw-schema", "", K::Value, "intel RDT memory bandwidth schema (not supported)"}},
       false,
       cmd_update},
      {"events",
       "[options] <container-id>",
       "display container events such as OOM notifications and stats",
       {{"interval", "", K::Value, "interval between stats (default 5s)"},
        {"stats", "", K::Bool, "display the container's stats once, then exit"}},
       false,
       cmd_events},
      {"spec",
       "[options]",
       "create a new specification file",
       {{"bundle", "b", K::Value, "path to the root of the bundle directory"},
        {"rootless", "", K::Bool, "generate a configuration for a rootless container"}},
       false,
       cmd_spec},
      {"features", "", "show the enabled features", {}, false, cmd_features},
      {"compare",
       "[options] <bundle>",
       "run the bundle as a container and as a VM and compare them, measured",
       {{"runs", "n", K::Value, "runs of each kind per mode (default 3)"},
        {"format", "f", K::Value, "table, markdown or json"},
        {"chart", "", K::Value, "also write an SVG bar chart to this file"},
        {"with", "", K::Multi, "add another runtime as a column: runc or crun"},
        {"timeout", "", K::Value, "seconds the bundle's process may run (default 120)"}},
       false,
       cmd_compare},
      {"checkpoint", "<container-id>", "checkpoint a running container (not supported)", {}, false, cmd_unsupported},
      {"restore",
       "<container-id>",
       "restore a container from a checkpoint (not supported)",
       {},
       false,
       cmd_unsupported},
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
  out +=
      "\nglobal options:\n"
      "  --root value         root directory for container state (default: /run/ocelot, $XDG_RUNTIME_DIR/ocelot for "
      "non-root)\n"
      "  --log value          write ocelot's log to this file (default: stderr)\n"
      "  --log-format value   text or json (default: text)\n"
      "  --debug              enable debug logging\n"
      "  --systemd-cgroup     accept systemd slice:prefix:name cgroup paths\n"
      "  --rootless value     true, false or auto (default: auto)\n"
      "  --isolation value    container or vm (default: container; also the annotation org.ocelot.isolation)\n"
      "  --vm-kernel value    guest kernel for VM isolation (default: the one `make vm-setup` prepared)\n"
      "  --vm-template value  on or off: start VM guests from a booted template (default: on)\n"
      "  -v, --version        print the version\n"
      "  -h, --help           show help\n";
  return out;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Context ctx;
  LogConfig log;
  // runc's rule: without root, or as "root" of a user namespace (rootless podman), the state
  // lives in $XDG_RUNTIME_DIR.
  if (const char* xdg = ::getenv("XDG_RUNTIME_DIR");
      xdg && *xdg && (::geteuid() != 0 || runtime::running_in_user_namespace()))
    ctx.globals.root = std::string(xdg) + "/ocelot";
  size_t i = 0;
  auto value = [&](const std::string& a, const std::string& name, std::string& out) -> bool {
    // --name value, --name=value, -name value, -name=value
    for (const std::string& prefix : {"--" + name, "-" + name}) {
      if (a == prefix) {
        if (i + 1 >= args.size()) {
          report_error("flag needs an argument: " + prefix);
          std::exit(1);
        }
        out = args[++i];
        return true;
      }
      if (a.rfind(prefix + "=", 0) == 0) {
        out = a.substr(prefix.size() + 1);
        return true;
      }
    }
    return false;
  };
  auto boolean = [&](const std::string& a, const std::string& name, bool& out) -> bool {
    for (const std::string& prefix : {"--" + name, "-" + name}) {
      if (a == prefix) return out = true;
      if (a == prefix + "=true") return out = true, true;
      if (a == prefix + "=false") return out = false, true;
    }
    return false;
  };
  std::string log_format = "text", criu, isolation, vm_template = "on";
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') break;
    if (a == "-v" || a == "--version") {
      print(version_text());
      return 0;
    }
    if (a == "-h" || a == "--help") {
      print(main_help());
      return 0;
    }
    if (value(a, "root", ctx.globals.root) || value(a, "log", log.path) || value(a, "log-format", log_format) ||
        value(a, "criu", criu) || value(a, "isolation", isolation) || value(a, "vm-kernel", ctx.globals.vm_kernel) ||
        value(a, "vm-template", vm_template) || boolean(a, "debug", log.debug) ||
        boolean(a, "systemd-cgroup", ctx.globals.systemd_cgroup))
      continue;
    // A value, as runc's: --rootless true|false|auto (checked below).
    if (value(a, "rootless", ctx.globals.rootless)) continue;
    report_error("unknown global flag \"" + a + "\"");
    return 1;
  }
  if (log_format != "text" && log_format != "json") {
    report_error("invalid --log-format \"" + log_format + "\": expected text or json");
    return 1;
  }
  if (ctx.globals.rootless != "auto" && ctx.globals.rootless != "true" && ctx.globals.rootless != "false") {
    report_error("invalid --rootless " + quote(ctx.globals.rootless) + ": expected true, false or auto");
    return 1;
  }
  log.json = log_format == "json";
  init_logging(log);
  ctx.debug = log.debug;
  std::string self = argc > 0 ? argv[0] : "ocelot";
  // Invoked as ocelot-vm: VM isolation unless --isolation says otherwise.
  if (isolation.empty() && self.size() >= 9 && self.compare(self.size() - 9, 9, "ocelot-vm") == 0) isolation = "vm";
  if (!isolation.empty() && !isolation::find(isolation)) {
    std::string names;
    for (const auto& b : isolation::backends()) names += (names.empty() ? "" : " or ") + std::string(b.name);
    report_error("--isolation " + quote(isolation) + ": expected " + names);
    return 1;
  }
  ctx.isolation = isolation;
  if (vm_template != "on" && vm_template != "off") {
    report_error("--vm-template " + quote(vm_template) + ": expected on or off");
    return 1;
  }
  ctx.globals.vm_template = vm_template == "on";
  if (i >= args.size()) {
    print(main_help());
    return 0;
  }
  std::string name = args[i];
  if (name == "help") {
    print(main_help());
    return 0;
  }
  for (const auto& c : commands()) {
    if (name != c.name) continue;
    // Callers detect checkpoint support by `checkpoint --help` exiting 0 (podman's
    // CRRuntimeSupportsCheckpointRestore): an unsupported command fails, --help or not.
    if (c.run == cmd_unsupported) {
      report_error(name + " is not supported by ocelot (no checkpoint/restore: CRIU is not integrated)");
      return 1;
    }
    std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
    auto f = parse_flags(name, c.flags, rest, c.stop_after_first);
    if (!f) {
      report_error(f.error().msg);
      return 1;
    }
    if (f->on("help")) {
      print(flags_help(name, c.usage, c.flags));
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
  report_error("no such command \"" + name + "\"");
  return 1;
}

}  // namespace ocelot::cli
