// The runtime's pure pieces: the init stub's argv, the capability rules, exec's process spec,
// the resources serializer.
#include <doctest/doctest.h>
#include <linux/capability.h>

#include "runtime/container_backend.h"
#include "runtime/init_stub.h"
#include "runtime/lsm.h"
#include "runtime/process_setup.h"
#include "runtime/rootless.h"
#include "spec/parse.h"
#include "spec/serialize.h"

using namespace ocelot;

TEST_CASE("init stub argv: options, hooks with their args and env, then the workload") {
  runtime::StubPlan p;
  p.sync_fd = 5;
  p.fifo_fd = 6;
  p.bpf_fd = 7;
  p.bpf_flags = 2;
  p.temp_caps = runtime::cap_bit(CAP_SYS_ADMIN);
  p.final_bounding = 0x20;
  std::vector<spec::Hook> hooks = {{"/bin/hook", {"hook", "-x"}, {"A=1"}, 3}, {"/bin/h2", {}, {}, {}}};
  p.start_hooks = &hooks;
  p.exe = "/bin/sleep";
  p.args = {"sleep", "5"};
  auto a = runtime::init_stub_argv(p);
  std::vector<std::string> want = {"ocelot-init",  "sync=5",     "fifo=6",    "bpf=7",      "bpfflags=2", "temp=200000",
                                   "final=20,0,0", "hook=3,2,1", "/bin/hook", "hook",       "-x",         "A=1",
                                   "hook=0,0,0",   "/bin/h2",    "--",        "/bin/sleep", "sleep",      "5"};
  CHECK(a == want);
}

TEST_CASE("init stub argv: both LSM labels name the one attr directory the stub opens them beneath") {
  runtime::StubPlan p;
  p.apparmor = "docker-default";
  p.selinux = "system_u:system_r:container_t:s0";
  p.attr_dir_fd = 9;
  p.exe = "/bin/true";
  auto a = runtime::init_stub_argv(p);
  std::vector<std::string> want = {"ocelot-init", "apparmor=9,docker-default",
                                   "selinux=9,system_u:system_r:container_t:s0", "--", "/bin/true"};
  CHECK(a == want);
}

TEST_CASE("apparmor: a profile is loaded when securityfs lists it, whatever its mode") {
  const char* listed = "docker-default (enforce)\nlibpod profile (complain)\n/usr/bin/man (enforce)\n";
  CHECK(runtime::apparmor_profile_listed(listed, "docker-default"));
  CHECK(runtime::apparmor_profile_listed(listed, "libpod profile"));
  CHECK(runtime::apparmor_profile_listed(listed, "/usr/bin/man"));
  CHECK_FALSE(runtime::apparmor_profile_listed(listed, "docker"));
  CHECK_FALSE(runtime::apparmor_profile_listed(listed, "enforce"));
  CHECK_FALSE(runtime::apparmor_profile_listed("", "docker-default"));
  CHECK_FALSE(runtime::apparmor_profile_listed("docker-default\n", "docker-default"));
}

TEST_CASE("capabilities: no object means none; CAP_SYS_ADMIN is kept for the filter only when needed") {
  spec::Process p;
  CHECK(runtime::cap_sets(p).bounding == 0);
  CHECK(runtime::cap_sets(p).effective == 0);
  // Root with the default three caps, no no_new_privs: the stub must hold CAP_SYS_ADMIN (and
  // CAP_SETPCAP to drop it from the bounding set again).
  p.capabilities.emplace();
  p.capabilities->bounding = {"CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"};
  auto c = runtime::cap_sets(p);
  CHECK(runtime::seccomp_temp_caps(p, c) == (runtime::cap_bit(CAP_SYS_ADMIN) | runtime::cap_bit(CAP_SETPCAP)));
  p.no_new_privileges = true;
  CHECK(runtime::seccomp_temp_caps(p, c) == 0);
  p.no_new_privileges = false;
  p.capabilities->bounding.push_back("CAP_SYS_ADMIN");
  CHECK(runtime::seccomp_temp_caps(p, runtime::cap_sets(p)) == 0);  // root keeps its bounding set across execve
  p.user.uid = 1000;  // a non-root user keeps only ambient capabilities across execve
  CHECK(runtime::seccomp_temp_caps(p, runtime::cap_sets(p)) ==
        runtime::cap_bit(CAP_SYS_ADMIN));  // bounding already has it
  p.capabilities->bounding.pop_back();
  CHECK(runtime::seccomp_temp_caps(p, runtime::cap_sets(p)) ==
        (runtime::cap_bit(CAP_SYS_ADMIN) | runtime::cap_bit(CAP_SETPCAP)));
}

TEST_CASE("exec's process spec: ids checked like the config's") {
  spec::Config cfg;
  cfg.process.emplace();
  cfg.process->cwd = "/";
  runtime::ExecOptions o;
  o.args = {"id"};
  o.user = "4294967295:4294967295";
  CHECK(runtime::exec_process_spec(o, cfg).error().msg == "--user: must be between 0 and 2147483647, got 4294967295");
  o.user = "-1";
  CHECK(!runtime::exec_process_spec(o, cfg).ok());
  o.user = "1000:1000";
  auto p = runtime::exec_process_spec(o, cfg);
  REQUIRE(p);
  CHECK(p->user.uid == 1000);
}

TEST_CASE("resources serialize back to JSON that parses to the same values") {
  auto r = spec::parse_resources(
      R"({"memory":{"limit":1048576,"swap":-1},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},
    "pids":{"limit":7},"blockIO":{"weight":300,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":100}]},
    "hugepageLimits":[{"pageSize":"2MB","limit":0}],"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}],
    "unified":{"memory.high":"max"}})");
  REQUIRE(r);
  auto back = spec::parse_resources(spec::resources_to_json(*r));
  REQUIRE(back);
  CHECK(spec::resources_to_json(*back) == spec::resources_to_json(*r));
  CHECK(*back->memory->limit == 1048576);
  CHECK(*back->cpu->quota == 50000);
  CHECK(back->pids->limit == 7);
  CHECK(back->devices.size() == 2);
  CHECK(!back->devices[0].major);
  CHECK(back->unified.at("memory.high") == "max");
}

TEST_CASE("rootless cgroups: a delegated cgroup is used; without one, limits are refused and none is a warning") {
  spec::Linux none;
  auto used = runtime::plan_rootless_cgroups("c", none, "");
  REQUIRE(used.ok());
  CHECK(used->own_cgroup);
  auto skipped = runtime::plan_rootless_cgroups("c", none, "/sys/fs/cgroup/memory/ocelot/c");
  REQUIRE(skipped.ok());
  CHECK_FALSE(skipped->own_cgroup);
  CHECK(skipped->warning.find("no cgroup of its own") != std::string::npos);
  spec::Linux limited;
  limited.resources.emplace();
  limited.resources->pids.emplace();
  limited.resources->pids->limit = 10;
  auto refused = runtime::plan_rootless_cgroups("c", limited, "/sys/fs/cgroup/pids/ocelot/c");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().msg.find("cannot apply linux.resources") != std::string::npos);
  CHECK(runtime::plan_rootless_cgroups("c", limited, "").ok());  // delegated: limits apply
}

TEST_CASE("rootless mode: --rootless true/false/auto") {
  runtime::Globals g;
  g.rootless = "true";
  CHECK(*runtime::rootless_mode(g));
  g.rootless = "false";
  CHECK_FALSE(*runtime::rootless_mode(g));
  g.rootless = "sometimes";
  CHECK_FALSE(runtime::rootless_mode(g).ok());
}
