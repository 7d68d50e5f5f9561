// Parsing and validation of config.json: good configs from the runtime-spec, and malformed ones,
// each with the exact message a user sees.
#include <doctest/doctest.h>

#include <string>

#include "spec/default_spec.h"
#include "spec/parse.h"

using namespace ocelot;

namespace {

// A minimal valid config with one field replaced (a JSON fragment spliced in).
std::string cfg(const std::string& process = R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
                const std::string& linux_ = R"({"namespaces":[{"type":"mount"}]})", const std::string& extra = "") {
  return R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":)" + process + R"(,"linux":)" + linux_ + extra +
         "}";
}

std::string error_of(const std::string& text) {
  auto r = spec::parse_config(text);
  REQUIRE_MESSAGE(!r.ok(), "expected a parse error for: " << text);
  return r.error().msg;
}

}  // namespace

TEST_CASE("the default spec parses and validates") {
  auto r = spec::parse_config(spec::default_spec_json(false, 0, 0));
  REQUIRE(r.ok());
  CHECK(r->process->args == std::vector<std::string>{"sh"});
  CHECK(r->root->readonly);
  CHECK(r->mounts.size() == 7);
  CHECK(r->linux->namespaces.size() == 6);
  CHECK(r->linux->masked_paths.size() == 11);
  CHECK(r->process->capabilities->bounding.size() == 3);
  REQUIRE(r->linux->resources);
  CHECK(r->linux->resources->devices.size() == 1);
  auto rootless = spec::parse_config(spec::default_spec_json(true, 1000, 1000));
  REQUIRE(rootless.ok());
  REQUIRE(rootless->linux->uid_mappings.size() == 1);
  CHECK(rootless->linux->uid_mappings[0].host_id == 1000);
  CHECK(!rootless->linux->find_namespace("network"));
}

TEST_CASE("the runtime-spec config.md example parses with every section") {
  const char* text = R"({
    "ociVersion": "1.0.1",
    "process": {
      "terminal": true, "consoleSize": {"height": 25, "width": 80},
      "user": {"uid": 1, "gid": 1, "umask": 63, "additionalGids": [5, 6]},
      "args": ["sh"], "env": ["PATH=/usr/bin", "TERM=xterm"], "cwd": "/",
      "capabilities": {"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL"], "permitted": ["CAP_KILL"],
                       "inheritable": ["CAP_KILL"], "effective": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
      "rlimits": [{"type": "RLIMIT_CORE", "hard": 1024, "soft": 1024}, {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
      "apparmorProfile": "acme_secure_profile", "oomScoreAdj": 100,
      "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675", "noNewPrivileges": true,
      "scheduler": {"policy": "SCHED_OTHER", "nice": 5},
      "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
      "execCPUAffinity": {"initial": "0", "final": "0-1"}
    },
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "slartibartfast", "domainname": "foobarbaz.test",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/data", "type": "bind", "source": "/volumes/testing", "options": ["rbind", "rw"]}],
    "hooks": {
      "prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "arg1"], "env": ["key1=value1"]}],
      "createRuntime": [{"path": "/usr/bin/fix-mounts"}], "createContainer": [{"path": "/usr/bin/mount-hook"}],
      "startContainer": [{"path": "/usr/bin/refresh-ldcache"}], "poststart": [{"path": "/usr/bin/notify-start", "timeout": 5}],
      "poststop": [{"path": "/usr/sbin/cleanup.sh", "args": ["cleanup.sh", "-f"]}]
    },
    "linux": {
      "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}],
      "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
      "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
      "sysctl": {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "256"},
      "cgroupsPath": "/myRuntime/myContainer",
      "resources": {
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
        "pids": {"limit": 32771},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 9223372036854772000}],
        "memory": {"limit": 536870912, "reservation": 536870912, "swap": 536870912, "swappiness": 0, "disableOOMKiller": false},
        "cpu": {"shares": 1024, "quota": 1000000, "period": 500000, "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3", "mems": "0-7", "idle": 0},
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
        "blockIO": {"weight": 10, "leafWeight": 10,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
        "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
        "unified": {"io.weight": "100"}
      },
      "rootfsPropagation": "slave",
      "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                  "syscalls": [{"names": ["getcwd", "chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                                "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]}]},
      "timeOffsets": {"monotonic": {"secs": 10, "nanosecs": 5}},
      "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                     {"type": "user"}, {"type": "cgroup"}, {"type": "time"}],
      "maskedPaths": ["/proc/kcore", "/proc/latency_stats"], "readonlyPaths": ["/proc/sys"],
      "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
      "personality": {"domain": "LINUX"}
    },
    "annotations": {"com.example.key1": "value1", "com.example.key2": "value2"},
    "unknownTopLevelField": {"is": "ignored"}
  })";
  auto r = spec::parse_config(text);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().msg));
  const auto& c = *r;
  CHECK(c.process->console_size->width == 80);
  CHECK(c.process->user.umask == 63u);
  CHECK(c.process->user.additional_gids == std::vector<uint32_t>{5, 6});
  CHECK(c.process->rlimits.size() == 2);
  CHECK(c.process->oom_score_adj == 100);
  CHECK(c.process->scheduler->nice == 5);
  CHECK(c.process->io_priority->priority == 4);
  CHECK(c.process->exec_cpu_affinity->final_ == "0-1");
  CHECK(c.hooks.prestart[0].args.size() == 2);
  CHECK(c.hooks.poststart[0].timeout == 5);
  CHECK(c.linux->devices[0].file_mode == 438u);
  CHECK(c.linux->uid_mappings[0].size == 32000);
  CHECK(c.linux->sysctl.at("net.core.somaxconn") == "256");
  const auto& res = *c.linux->resources;
  CHECK(res.memory->limit == 536870912);
  CHECK(res.cpu->cpus == "2-3");
  CHECK(res.cpu->realtime_runtime == 950000);
  CHECK(res.pids->limit == 32771);
  CHECK(res.block_io->weight_device[0].leaf_weight == 300);
  CHECK(res.block_io->throttle_write_iops[0].rate == 300);
  CHECK(res.hugepage_limits[0].page_size == "2MB");
  CHECK(res.network->priorities[0].name == "eth0");
  CHECK(res.rdma.at("mlx5_1").hca_objects == 10000u);
  CHECK(res.unified.at("io.weight") == "100");
  CHECK(res.devices[1].major == 10);
  CHECK(!res.devices[0].major);
  CHECK(c.linux->seccomp->syscalls[0].args[0].op == "SCMP_CMP_MASKED_EQ");
  CHECK(c.linux->time_offsets_secs.at("monotonic") == 10);
  CHECK(c.linux->time_offsets_nanosecs.at("monotonic") == 5u);
  CHECK(c.linux->personality->domain == "LINUX");
  CHECK(c.annotations.at("com.example.key2") == "value2");
}

TEST_CASE("unknown fields and annotation keys are ignored") {
  auto r = spec::parse_config(cfg(R"({"user":{"uid":0,"gid":0,"newField":1},"args":["sh"],"cwd":"/","future":[1,2]})",
                                  R"({"namespaces":[{"type":"mount"}],"newLinuxThing":{}})",
                                  R"(,"annotations":{"org.whatever/odd key":"x"},"vm":{"hypervisor":{}})"));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().msg));
  CHECK(r->annotations.at("org.whatever/odd key") == "x");
}

TEST_CASE("null counts as absent") {
  auto r = spec::parse_config(cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","env":null})"));
  REQUIRE(r.ok());
  CHECK(r->process->env.empty());
}

// The malformed configs: each with the exact message.
TEST_CASE("malformed configs name the JSON path and the problem") {
  struct Case {
    std::string text, msg;
  };
  const Case cases[] = {
      {R"({"ociVersion":"1.2.0",)",
       "malformed JSON at byte 23: syntax error while parsing object key - unexpected end of input; expected string "
       "literal"},
      {"",
       "malformed JSON at byte 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a "
       "literal"},
      {R"({"ociVersion": 1.2})", "ociVersion: expected a string, got 1.2"},
      {"[1,2]", "config: expected an object, got an array"},
      {R"({"root":{"path":"rootfs"}})", "ociVersion: missing required field"},
      {R"({"ociVersion":"2.0.0","root":{"path":"r"}})", "ociVersion: unsupported version \"2.0.0\", expected 1.x"},
      {R"({"ociVersion":"1.2.0"})", "root: missing required field"},
      {R"({"ociVersion":"1.2.0","root":{}})", "root.path: missing required field"},
      {R"({"ociVersion":"1.2.0","root":{"path":"r","readonly":"yes"}})",
       "root.readonly: expected a boolean, got \"yes\""},
      {R"({"ociVersion":"1.2.0","root":"rootfs"})", "root: expected an object, got \"rootfs\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh",42],"cwd":"/"})"), "process.args[1]: expected a string, got 42"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":"sh","cwd":"/"})"), "process.args: expected an array, got \"sh\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":[],"cwd":"/"})"), "process.args: must not be empty"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"]})"), "process.cwd: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"tmp"})"),
       "process.cwd: must be an absolute path, got \"tmp\""},
      {cfg(R"({"args":["sh"],"cwd":"/"})"), "process.user: missing required field"},
      {cfg(R"({"user":{"uid":-1,"gid":0},"args":["sh"],"cwd":"/"})"),
       "process.user.uid: expected an unsigned 32-bit integer, got -1"},
      {cfg(R"({"user":{"uid":4294967296,"gid":0},"args":["sh"],"cwd":"/"})"),
       "process.user.uid: expected an unsigned 32-bit integer, got 4294967296"},
      {cfg(R"({"user":{"uid":0,"gid":"0"},"args":["sh"],"cwd":"/"})"),
       "process.user.gid: expected an unsigned 32-bit integer, got \"0\""},
      {cfg(R"({"user":{"uid":0,"gid":0,"additionalGids":[1,"x"]},"args":["sh"],"cwd":"/"})"),
       "process.user.additionalGids[1]: expected an unsigned 32-bit integer, got \"x\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","env":["PATH"]})"),
       "process.env[0]: expected \"KEY=value\", got \"PATH\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","terminal":1})"),
       "process.terminal: expected a boolean, got 1"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_FLY"]}})"),
       "process.capabilities.bounding[0]: unknown capability \"CAP_FLY\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","capabilities":{"ambient":["CAP_KILL","kill"]}})"),
       "process.capabilities.ambient[1]: unknown capability \"kill\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_FOO","soft":1,"hard":1}]})"),
       "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":1}]})"),
       "process.rlimits[0].hard: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":5}]})"),
       "process.rlimits[0]: soft limit 10 exceeds hard limit 5"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_CORE","soft":1,"hard":1},{"type":"RLIMIT_CORE","soft":1,"hard":1}]})"),
       "process.rlimits[1].type: duplicate rlimit \"RLIMIT_CORE\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","oomScoreAdj":2000})"),
       "process.oomScoreAdj: must be between -1000 and 1000, got 2000"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","scheduler":{"policy":"SCHED_FAST"}})"),
       "process.scheduler.policy: unknown policy \"SCHED_FAST\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","ioPriority":{"class":"IOPRIO_CLASS_BE","priority":9}})"),
       "process.ioPriority.priority: must be between 0 and 7, got 9"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","consoleSize":{"height":1,"width":1}})"),
       "process.consoleSize: set without process.terminal"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"namespaces":[{"type":"mount"},{"type":"mount"}]})"),
       "linux.namespaces[1].type: duplicate namespace type \"mount\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"net"}]})"),
       "linux.namespaces[0].type: unknown namespace type \"net\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{}]})"),
       "linux.namespaces[0].type: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"namespaces":[{"type":"pid","path":"proc/1/ns/pid"}]})"),
       "linux.namespaces[0].path: must be an absolute path, got \"proc/1/ns/pid\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"uidMappings":[{"containerID":0,"hostID":1000,"size":1}]})"),
       "linux.uidMappings: set without a user namespace in linux.namespaces"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"user"}]})"),
       "linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"namespaces":[{"type":"user"}],"uidMappings":[{"containerID":0,"hostID":1000}]})"),
       "linux.uidMappings[0].size: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"timeOffsets":{"monotonic":{"secs":1}}})"),
       "linux.timeOffsets: set without a time namespace"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"devices":[{"type":"x","path":"/dev/x"}]})"),
       "linux.devices[0].type: unknown device type \"x\", expected c, b, u or p"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"devices":[{"type":"c","path":"dev/x"}]})"),
       "linux.devices[0].path: must be an absolute path, got \"dev/x\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"resources":{"memory":{"limit":"1G"}}})"),
       "linux.resources.memory.limit: expected a 64-bit integer, got \"1G\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"resources":{"pids":{}}})"),
       "linux.resources.pids.limit: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"resources":{"cpu":{"shares":-5}}})"),
       "linux.resources.cpu.shares: expected an unsigned 64-bit integer, got -5"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"resources":{"blockIO":{"weight":70000}}})"),
       "linux.resources.blockIO.weight: expected an unsigned 16-bit integer, got 70000"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"resources":{"devices":[{"allow":true,"access":"rwx"}]}})"),
       "linux.resources.devices[0].access: expected letters of \"rwm\", got \"rwx\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"resources":{"devices":[{"access":"rwm"}]}})"),
       "linux.resources.devices[0].allow: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"resources":{"unified":{"memory.max":5}}})"),
       "linux.resources.unified.memory.max: expected a string, got 5"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"rootfsPropagation":"sideways"})"),
       "linux.rootfsPropagation: unknown propagation \"sideways\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"sysctl":{"net.ipv4.ip_forward":"1"}})"),
       "linux.sysctl.net.ipv4.ip_forward: needs a network namespace"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"maskedPaths":["proc/kcore"]})"),
       "linux.maskedPaths[0]: must be an absolute path, got \"proc/kcore\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"seccomp":{"defaultAction":"SCMP_ACT_EXPLODE"}})"),
       "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_EXPLODE\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_SIMILAR"}]}]}})"),
       "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_SIMILAR\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]}})"),
       "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})",
           R"({"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ERRNO"}]}})"),
       "linux.seccomp.syscalls[0].names: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"personality":{"domain":"LINUX64"}})"),
       "linux.personality.domain: unknown domain \"LINUX64\", expected \"LINUX\" or \"LINUX32\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"mount"}]})",
           R"(,"hostname":"h")"),
       "hostname: set without a uts namespace"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"mount"}]})",
           R"(,"mounts":[{"type":"tmpfs"}])"),
       "mounts[0].destination: missing required field"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"mount"}]})",
           R"(,"mounts":[{"destination":"/x","options":"ro"}])"),
       "mounts[0].options: expected an array, got \"ro\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"mount"}]})",
           R"(,"hooks":{"prestart":[{"path":"hook"}]})"),
       "hooks.prestart[0].path: must be an absolute path, got \"hook\""},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"mount"}]})",
           R"(,"hooks":{"poststop":[{"path":"/bin/true","timeout":0}]})"),
       "hooks.poststop[0].timeout: must be positive, got 0"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"({"namespaces":[{"type":"mount"}]})",
           R"(,"annotations":{"a":1})"),
       "annotations.a: expected a string, got 1"},
      {cfg(R"({"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"})", R"("linux")"),
       "linux: expected an object, got \"linux\""},
  };
  int n = 0;
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(error_of(c.text) == c.msg);
    ++n;
  }
  CHECK(n >= 30);
}

TEST_CASE("load_config prefixes the file name") {
  auto r = spec::load_config("/nonexistent-bundle");
  REQUIRE(!r.ok());
  CHECK(r.error().msg == "open \"/nonexistent-bundle/config.json\": no such file or directory");
  CHECK(r.error().code == ENOENT);
}

TEST_CASE("exec --process and update --resources parse alone") {
  auto p = spec::parse_process(R"({"user":{"uid":5,"gid":6},"args":["ls","-l"],"cwd":"/tmp"})");
  REQUIRE(p.ok());
  CHECK(p->user.uid == 5);
  auto bad = spec::parse_process(R"({"user":{"uid":5,"gid":6},"args":["ls"]})");
  REQUIRE(!bad.ok());
  CHECK(bad.error().msg == "cwd: missing required field");
  auto r = spec::parse_resources(R"({"memory":{"limit":1048576},"pids":{"limit":10}})");
  REQUIRE(r.ok());
  CHECK(r->memory->limit == 1048576);
  CHECK(r->pids->limit == 10);
}

TEST_CASE("hostile values are refused where the config is read") {
  auto refuse = [](const std::string& text, const std::string& why) {
    auto r = spec::parse_config(text);
    REQUIRE_MESSAGE(!r.ok(), text);
    CHECK_MESSAGE(r.error().msg.find(why) != std::string::npos, r.error().msg);
  };
  std::string base =
      R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["true"],"user":{"uid":0,"gid":0)";
  refuse(
      R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["true\u0000garbage"],"user":{"uid":0,"gid":0}}})",
      "process.args[0]: must not contain a NUL byte");
  refuse(
      R"({"ociVersion":"1.2.0","root":{"path":"rootfs\u0000/../.."},"process":{"cwd":"/","args":["true"],"user":{"uid":0,"gid":0}}})",
      "root.path: must not contain a NUL byte");
  refuse(base + R"(}},"hostname":"a\u0000b"})", "hostname: must not contain a NUL byte");
  refuse(base + R"(}},"annotations":{"a\u0000":"b"}})", "a key must not contain a NUL byte");
  refuse(
      R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"cwd":"/","args":["x"],"user":{"uid":4294967295,"gid":0}}})",
      "process.user.uid: must be between 0 and 2147483647, got 4294967295");
  refuse(
      R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"cwd":"/","args":["x"],"user":{"uid":0,"gid":2147483648}}})",
      "process.user.gid: must be between 0 and 2147483647");
  refuse(
      R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"cwd":"/","args":["x"],"user":{"uid":0,"gid":0,"additionalGids":[4294967295]}}})",
      "process.user.additionalGids[0]: must be between 0 and 2147483647");
  refuse(
      base +
          R"(}},"linux":{"namespaces":[{"type":"user"}],"uidMappings":[{"containerID":0,"hostID":4294967295,"size":1}],"gidMappings":[{"containerID":0,"hostID":0,"size":1}]}})",
      "linux.uidMappings[0]: hostID + size must not exceed 4294967295");
  refuse(
      base +
          R"(}},"linux":{"namespaces":[{"type":"user"}],"uidMappings":[{"containerID":0,"hostID":0,"size":0}],"gidMappings":[{"containerID":0,"hostID":0,"size":1}]}})",
      "linux.uidMappings[0].size: must be at least 1");
  refuse(base + R"(}},"linux":{"devices":[{"type":"c","path":"/dev/x","major":1,"minor":3,"uid":4294967295}]}})",
         "linux.devices[0].uid: must be between 0 and 2147483647");
  refuse(base + R"(}},"linux":{"devices":[{"type":"c","path":"/dev/x","major":-1,"minor":3}]}})",
         "major and minor must be between");
  refuse(base + R"(}},"linux":{"sysctl":{"kernel.printk_ratelimit_burst":"11"}}})",
         "linux.sysctl.kernel.printk_ratelimit_burst: not a namespaced sysctl: writing it would change the host");
  refuse(base + R"(}},"linux":{"namespaces":[{"type":"ipc"}],"sysctl":{"net.ipv4.ip_forward":"1"}}})",
         "linux.sysctl.net.ipv4.ip_forward: needs a network namespace");
  refuse(base + R"(}},"linux":{"namespaces":[{"type":"network"}],"sysctl":{"net.ipv4/../../kernel.x":"1"}}})",
         "malformed sysctl name");
  refuse(base + R"(}},"linux":{"namespaces":[{"type":"network"}],"sysctl":{"net/../kernel/x":"1"}}})",
         "malformed sysctl name");
  refuse(base + R"(}},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":65536}}})",
         "linux.seccomp.defaultErrnoRet: must be between 0 and 4095");
  refuse(
      R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"terminal":true,"consoleSize":{"height":65536,"width":80},"cwd":"/","args":["x"],"user":{"uid":0,"gid":0}}})",
      "process.consoleSize: height and width must be at most 65535");
  // The namespaced ones are fine.
  CHECK(spec::parse_config(base + R"(}},"linux":{"namespaces":[{"type":"ipc"},{"type":"network"},{"type":"uts"}],
    "sysctl":{"kernel.shmmax":"1","fs.mqueue.msg_max":"1","net.ipv4.ip_forward":"1","net/ipv4/conf/eth0.100/forwarding":"1","kernel.domainname":"x"}}})")
            .ok());
}
