#include "spec/parse.h"

#include <set>
#include <vector>

#include "base/fs.h"
#include "spec/json_read.h"
#include "spec/validate.h"

namespace ocelot::spec {
using jr::expect_object;
using jr::field;
using jr::json;
using jr::key_path;
using jr::type_error;

// One read() per struct of config.h, in the order of the runtime-spec's config.md.

static Status read(const json& j, const std::string& p, Mount::IdMap& m) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "containerID", m.container_id, true));
  OCL_CHECK(field(j, p, "hostID", m.host_id, true));
  OCL_CHECK(field(j, p, "size", m.size, true));
  return ok();
}

static Status read(const json& j, const std::string& p, Mount& m) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "destination", m.destination, true));
  OCL_CHECK(field(j, p, "type", m.type));
  OCL_CHECK(field(j, p, "source", m.source));
  OCL_CHECK(field(j, p, "options", m.options));
  OCL_CHECK(field(j, p, "uidMappings", m.uid_mappings));
  OCL_CHECK(field(j, p, "gidMappings", m.gid_mappings));
  return ok();
}

static Status read(const json& j, const std::string& p, IdMapping& m) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "containerID", m.container_id, true));
  OCL_CHECK(field(j, p, "hostID", m.host_id, true));
  OCL_CHECK(field(j, p, "size", m.size, true));
  return ok();
}

static Status read(const json& j, const std::string& p, User& u) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "uid", u.uid, true));
  OCL_CHECK(field(j, p, "gid", u.gid, true));
  OCL_CHECK(field(j, p, "umask", u.umask));
  OCL_CHECK(field(j, p, "additionalGids", u.additional_gids));
  OCL_CHECK(field(j, p, "username", u.username));
  return ok();
}

static Status read(const json& j, const std::string& p, Capabilities& c) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "bounding", c.bounding));
  OCL_CHECK(field(j, p, "effective", c.effective));
  OCL_CHECK(field(j, p, "inheritable", c.inheritable));
  OCL_CHECK(field(j, p, "permitted", c.permitted));
  OCL_CHECK(field(j, p, "ambient", c.ambient));
  return ok();
}

static Status read(const json& j, const std::string& p, Rlimit& r) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "type", r.type, true));
  OCL_CHECK(field(j, p, "soft", r.soft, true));
  OCL_CHECK(field(j, p, "hard", r.hard, true));
  return ok();
}

static Status read(const json& j, const std::string& p, ConsoleSize& c) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "height", c.height, true));
  OCL_CHECK(field(j, p, "width", c.width, true));
  return ok();
}

static Status read(const json& j, const std::string& p, Scheduler& s) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "policy", s.policy, true));
  OCL_CHECK(field(j, p, "nice", s.nice));
  OCL_CHECK(field(j, p, "priority", s.priority));
  OCL_CHECK(field(j, p, "flags", s.flags));
  OCL_CHECK(field(j, p, "runtime", s.runtime));
  OCL_CHECK(field(j, p, "deadline", s.deadline));
  OCL_CHECK(field(j, p, "period", s.period));
  return ok();
}

static Status read(const json& j, const std::string& p, IoPriority& s) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "class", s.io_class, true));
  OCL_CHECK(field(j, p, "priority", s.priority));
  return ok();
}

static Status read(const json& j, const std::string& p, ExecCpuAffinity& s) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "initial", s.initial));
  OCL_CHECK(field(j, p, "final", s.final_));
  return ok();
}

static Status read(const json& j, const std::string& p, Process& pr) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "terminal", pr.terminal));
  OCL_CHECK(field(j, p, "consoleSize", pr.console_size));
  OCL_CHECK(field(j, p, "user", pr.user, true));
  OCL_CHECK(field(j, p, "args", pr.args));
  OCL_CHECK(field(j, p, "commandLine", pr.command_line));
  OCL_CHECK(field(j, p, "env", pr.env));
  OCL_CHECK(field(j, p, "cwd", pr.cwd, true));
  OCL_CHECK(field(j, p, "capabilities", pr.capabilities));
  OCL_CHECK(field(j, p, "rlimits", pr.rlimits));
  OCL_CHECK(field(j, p, "noNewPrivileges", pr.no_new_privileges));
  OCL_CHECK(field(j, p, "apparmorProfile", pr.apparmor_profile));
  OCL_CHECK(field(j, p, "oomScoreAdj", pr.oom_score_adj));
  OCL_CHECK(field(j, p, "selinuxLabel", pr.selinux_label));
  OCL_CHECK(field(j, p, "scheduler", pr.scheduler));
  OCL_CHECK(field(j, p, "ioPriority", pr.io_priority));
  OCL_CHECK(field(j, p, "execCPUAffinity", pr.exec_cpu_affinity));
  return ok();
}

static Status read(const json& j, const std::string& p, Hook& h) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "path", h.path, true));
  OCL_CHECK(field(j, p, "args", h.args));
  OCL_CHECK(field(j, p, "env", h.env));
  OCL_CHECK(field(j, p, "timeout", h.timeout));
  return ok();
}

static Status read(const json& j, const std::string& p, Hooks& h) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "prestart", h.prestart));
  OCL_CHECK(field(j, p, "createRuntime", h.create_runtime));
  OCL_CHECK(field(j, p, "createContainer", h.create_container));
  OCL_CHECK(field(j, p, "startContainer", h.start_container));
  OCL_CHECK(field(j, p, "poststart", h.poststart));
  OCL_CHECK(field(j, p, "poststop", h.poststop));
  return ok();
}

static Status read(const json& j, const std::string& p, Namespace& n) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "type", n.type, true));
  OCL_CHECK(field(j, p, "path", n.path));
  return ok();
}

static Status read(const json& j, const std::string& p, Device& d) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "type", d.type, true));
  OCL_CHECK(field(j, p, "path", d.path, true));
  OCL_CHECK(field(j, p, "major", d.major));
  OCL_CHECK(field(j, p, "minor", d.minor));
  OCL_CHECK(field(j, p, "fileMode", d.file_mode));
  OCL_CHECK(field(j, p, "uid", d.uid));
  OCL_CHECK(field(j, p, "gid", d.gid));
  return ok();
}

static Status read(const json& j, const std::string& p, DeviceCgroup& d) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "allow", d.allow, true));
  OCL_CHECK(field(j, p, "type", d.type));
  OCL_CHECK(field(j, p, "major", d.major));
  OCL_CHECK(field(j, p, "minor", d.minor));
  OCL_CHECK(field(j, p, "access", d.access));
  return ok();
}

static Status read(const json& j, const std::string& p, Memory& m) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "limit", m.limit));
  OCL_CHECK(field(j, p, "reservation", m.reservation));
  OCL_CHECK(field(j, p, "swap", m.swap));
  OCL_CHECK(field(j, p, "kernel", m.kernel));
  OCL_CHECK(field(j, p, "kernelTCP", m.kernel_tcp));
  OCL_CHECK(field(j, p, "swappiness", m.swappiness));
  OCL_CHECK(field(j, p, "disableOOMKiller", m.disable_oom_killer));
  OCL_CHECK(field(j, p, "useHierarchy", m.use_hierarchy));
  OCL_CHECK(field(j, p, "checkBeforeUpdate", m.check_before_update));
  return ok();
}

static Status read(const json& j, const std::string& p, Cpu& c) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "shares", c.shares));
  OCL_CHECK(field(j, p, "quota", c.quota));
  OCL_CHECK(field(j, p, "burst", c.burst));
  OCL_CHECK(field(j, p, "period", c.period));
  OCL_CHECK(field(j, p, "realtimeRuntime", c.realtime_runtime));
  OCL_CHECK(field(j, p, "realtimePeriod", c.realtime_period));
  OCL_CHECK(field(j, p, "cpus", c.cpus));
  OCL_CHECK(field(j, p, "mems", c.mems));
  OCL_CHECK(field(j, p, "idle", c.idle));
  return ok();
}

static Status read(const json& j, const std::string& p, Pids& x) {
  OCL_CHECK(expect_object(j, p));
  return field(j, p, "limit", x.limit, true);
}

static Status read(const json& j, const std::string& p, WeightDevice& d) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "major", d.major, true));
  OCL_CHECK(field(j, p, "minor", d.minor, true));
  OCL_CHECK(field(j, p, "weight", d.weight));
  OCL_CHECK(field(j, p, "leafWeight", d.leaf_weight));
  return ok();
}

static Status read(const json& j, const std::string& p, ThrottleDevice& d) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "major", d.major, true));
  OCL_CHECK(field(j, p, "minor", d.minor, true));
  OCL_CHECK(field(j, p, "rate", d.rate, true));
  return ok();
}

static Status read(const json& j, const std::string& p, BlockIo& b) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "weight", b.weight));
  OCL_CHECK(field(j, p, "leafWeight", b.leaf_weight));
  OCL_CHECK(field(j, p, "weightDevice", b.weight_device));
  OCL_CHECK(field(j, p, "throttleReadBpsDevice", b.throttle_read_bps));
  OCL_CHECK(field(j, p, "throttleWriteBpsDevice", b.throttle_write_bps));
  OCL_CHECK(field(j, p, "throttleReadIOPSDevice", b.throttle_read_iops));
  OCL_CHECK(field(j, p, "throttleWriteIOPSDevice", b.throttle_write_iops));
  return ok();
}

static Status read(const json& j, const std::string& p, HugepageLimit& h) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "pageSize", h.page_size, true));
  OCL_CHECK(field(j, p, "limit", h.limit, true));
  return ok();
}

static Status read(const json& j, const std::string& p, NetworkPriority& n) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "name", n.name, true));
  OCL_CHECK(field(j, p, "priority", n.priority, true));
  return ok();
}

static Status read(const json& j, const std::string& p, Network& n) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "classID", n.class_id));
  OCL_CHECK(field(j, p, "priorities", n.priorities));
  return ok();
}

static Status read(const json& j, const std::string& p, Rdma& r) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "hcaHandles", r.hca_handles));
  OCL_CHECK(field(j, p, "hcaObjects", r.hca_objects));
  return ok();
}

static Status read(const json& j, const std::string& p, Resources& r) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "devices", r.devices));
  OCL_CHECK(field(j, p, "memory", r.memory));
  OCL_CHECK(field(j, p, "cpu", r.cpu));
  OCL_CHECK(field(j, p, "pids", r.pids));
  OCL_CHECK(field(j, p, "blockIO", r.block_io));
  OCL_CHECK(field(j, p, "hugepageLimits", r.hugepage_limits));
  OCL_CHECK(field(j, p, "network", r.network));
  OCL_CHECK(field(j, p, "rdma", r.rdma));
  OCL_CHECK(field(j, p, "unified", r.unified));
  return ok();
}

static Status read(const json& j, const std::string& p, SeccompArg& a) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "index", a.index, true));
  OCL_CHECK(field(j, p, "value", a.value, true));
  OCL_CHECK(field(j, p, "valueTwo", a.value_two));
  OCL_CHECK(field(j, p, "op", a.op, true));
  return ok();
}

static Status read(const json& j, const std::string& p, SeccompSyscall& s) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "names", s.names, true));
  OCL_CHECK(field(j, p, "action", s.action, true));
  OCL_CHECK(field(j, p, "errnoRet", s.errno_ret));
  OCL_CHECK(field(j, p, "args", s.args));
  return ok();
}

static Status read(const json& j, const std::string& p, Seccomp& s) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "defaultAction", s.default_action, true));
  OCL_CHECK(field(j, p, "defaultErrnoRet", s.default_errno_ret));
  OCL_CHECK(field(j, p, "architectures", s.architectures));
  OCL_CHECK(field(j, p, "flags", s.flags));
  OCL_CHECK(field(j, p, "listenerPath", s.listener_path));
  OCL_CHECK(field(j, p, "listenerMetadata", s.listener_metadata));
  OCL_CHECK(field(j, p, "syscalls", s.syscalls));
  return ok();
}

static Status read(const json& j, const std::string& p, IntelRdt& r) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "closID", r.clos_id));
  OCL_CHECK(field(j, p, "l3CacheSchema", r.l3_cache_schema));
  OCL_CHECK(field(j, p, "memBwSchema", r.mem_bw_schema));
  OCL_CHECK(field(j, p, "enableCMT", r.enable_cmt));
  OCL_CHECK(field(j, p, "enableMBM", r.enable_mbm));
  return ok();
}

static Status read(const json& j, const std::string& p, Personality& r) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "domain", r.domain, true));
  OCL_CHECK(field(j, p, "flags", r.flags));
  return ok();
}

static Status read_time_offsets(const json& j, const std::string& p, Linux& l) {
  if (!j.is_object()) return type_error(p, "an object", j);
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string ep = key_path(p, it.key());
    OCL_CHECK(expect_object(it.value(), ep));
    int64_t secs = 0;
    uint32_t nsecs = 0;
    OCL_CHECK(field(it.value(), ep, "secs", secs));
    OCL_CHECK(field(it.value(), ep, "nanosecs", nsecs));
    l.time_offsets_secs[it.key()] = secs;
    l.time_offsets_nanosecs[it.key()] = nsecs;
  }
  return ok();
}

static Status read(const json& j, const std::string& p, Linux& l) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "namespaces", l.namespaces));
  OCL_CHECK(field(j, p, "uidMappings", l.uid_mappings));
  OCL_CHECK(field(j, p, "gidMappings", l.gid_mappings));
  if (auto it = j.find("timeOffsets"); it != j.end() && !it->is_null())
    OCL_CHECK(read_time_offsets(*it, key_path(p, "timeOffsets"), l));
  OCL_CHECK(field(j, p, "devices", l.devices));
  OCL_CHECK(field(j, p, "cgroupsPath", l.cgroups_path));
  OCL_CHECK(field(j, p, "resources", l.resources));
  OCL_CHECK(field(j, p, "intelRdt", l.intel_rdt));
  OCL_CHECK(field(j, p, "sysctl", l.sysctl));
  OCL_CHECK(field(j, p, "seccomp", l.seccomp));
  OCL_CHECK(field(j, p, "rootfsPropagation", l.rootfs_propagation));
  OCL_CHECK(field(j, p, "maskedPaths", l.masked_paths));
  OCL_CHECK(field(j, p, "readonlyPaths", l.readonly_paths));
  OCL_CHECK(field(j, p, "mountLabel", l.mount_label));
  OCL_CHECK(field(j, p, "personality", l.personality));
  return ok();
}

static Status read(const json& j, const std::string& p, Root& r) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "path", r.path, true));
  OCL_CHECK(field(j, p, "readonly", r.readonly));
  return ok();
}

static Status read(const json& j, const std::string& p, Config& c) {
  OCL_CHECK(expect_object(j, p));
  OCL_CHECK(field(j, p, "ociVersion", c.oci_version, true));
  OCL_CHECK(field(j, p, "root", c.root));
  OCL_CHECK(field(j, p, "mounts", c.mounts));
  OCL_CHECK(field(j, p, "process", c.process));
  OCL_CHECK(field(j, p, "hostname", c.hostname));
  OCL_CHECK(field(j, p, "domainname", c.domainname));
  OCL_CHECK(field(j, p, "hooks", c.hooks));
  OCL_CHECK(field(j, p, "annotations", c.annotations));
  OCL_CHECK(field(j, p, "linux", c.linux));
  return ok();
}

// nlohmann reports "[json.exception.parse_error.101] parse error at line 1, column 2: <detail>";
// keep the detail and name the byte offset, which is what an editor can jump to.
namespace {

// Where in the document the parser is, to refuse a key given twice: one frame per open object
// or array. Two readers of one config must never see two different values (Go's encoding/json,
// in runc and in many callers, keeps the last; others keep the first).
class DuplicateKeys {
 public:
  bool on(jr::json::parse_event_t ev, const jr::json& parsed) {
    using E = jr::json::parse_event_t;
    switch (ev) {
      case E::object_start: frames_.push_back({false, 0, {}, {}}); break;
      case E::array_start: frames_.push_back({true, 0, {}, {}}); break;
      case E::key: {
        auto& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && first_.empty()) first_ = "duplicate key " + quote(f.key) + where();
        break;
      }
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        element_done();
        break;
      case E::value: element_done(); break;
    }
    return true;
  }
  const std::string& first() const { return first_; }

 private:
  struct Frame {
    bool array;
    size_t idx;
    std::string key;
    std::set<std::string> keys;
  };
  void element_done() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().idx;
  }
  std::string where() const {
    std::string path;
    for (size_t i = 0; i + 1 < frames_.size(); ++i)
      path = frames_[i].array ? jr::index_path(path, frames_[i].idx) : jr::key_path(path, frames_[i].key);
    return path.empty() ? " in the top-level object" : " in " + quote(path);
  }
  std::vector<Frame> frames_;
  std::string first_;
};

}  // namespace

static Result<jr::json> parse_json(std::string_view text) {
  // nlohmann skips a byte order mark; JSON (RFC 8259) and Go's decoder do not allow one.
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    return Error::make("malformed JSON at byte 0: a UTF-8 byte order mark is not allowed");
  DuplicateKeys dup;
  jr::json j = jr::json::parse(
      text, [&dup](int, jr::json::parse_event_t ev, jr::json& parsed) { return dup.on(ev, parsed); },
      /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    if (!dup.first().empty()) return Error::make("malformed JSON: " + dup.first());
    return j;
  }
  try {
    auto again = jr::json::parse(text);  // throws the parse_error that names the byte
    (void)again;
  } catch (const jr::json::parse_error& e) {
    std::string what = e.what();
    auto pos = what.find(": ");
    std::string detail = pos == std::string::npos ? what : what.substr(pos + 2);
    return Error::make("malformed JSON at byte " + std::to_string(e.byte) + ": " + detail);
  } catch (const std::exception& e) {
    return Error::make(std::string("malformed JSON: ") + e.what());
  }
  return Error::make("malformed JSON");
}

template <class T>
static Result<T> parse_as(std::string_view text, const char* root_name) {
  auto j = OCL_TRY(parse_json(text));
  if (!j.is_object()) return jr::type_error(root_name, "an object", j);
  T out{};
  OCL_CHECK(read(j, "", out));
  return out;
}

Result<Config> parse_config(std::string_view text) {
  if (text.size() > kMaxConfigBytes)
    return Error::make("larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB (" + std::to_string(text.size()) +
                       " bytes)");
  auto c = OCL_TRY(parse_as<Config>(text, "config"));
  OCL_CHECK(validate(c));
  return c;
}

Result<Config> parse_config(std::string_view text, std::string& without_annotations) {
  if (text.size() > kMaxConfigBytes)
    return Error::make("larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB (" + std::to_string(text.size()) +
                       " bytes)");
  auto j = OCL_TRY(parse_json(text));
  if (!j.is_object()) return jr::type_error("config", "an object", j);
  Config c{};
  OCL_CHECK(read(j, "", c));
  OCL_CHECK(validate(c));
  // Without annotations the text is already what is stored: no second serialisation.
  if (j.erase("annotations") == 0)
    without_annotations.assign(text);
  else
    without_annotations = j.dump();
  return c;
}

Result<Config> load_config(const std::string& bundle) {
  std::string path = fs::join(bundle, "config.json");
  auto text = fs::read_file(path);
  if (!text) return std::move(text).error();
  auto c = parse_config(*text);
  if (!c) return std::move(c).error().wrap("config.json");
  return c;
}

Result<Process> parse_process(std::string_view text) {
  auto p = OCL_TRY(parse_as<Process>(text, "process"));
  OCL_CHECK(validate_process(p, "process"));
  return p;
}

Result<Resources> parse_resources(std::string_view text) { return parse_as<Resources>(text, "resources"); }

}  // namespace ocelot::spec
