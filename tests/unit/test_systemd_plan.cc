#include <doctest/doctest.h>

#include <map>

#include "cgroups/systemd_plan.h"

using namespace ocelot;

namespace {

std::map<std::string, std::string> props_of(const cgroups::SystemdPlan& p) {
  std::map<std::string, std::string> out;
  for (const auto& x : p.properties) out[x.name] = x.signature + " " + x.value;
  return out;
}

}  // namespace

TEST_CASE("systemd: the unit and slice of a cgroupsPath, runc's default and its errors") {
  auto u = cgroups::systemd_unit_name("system.slice:ocelot:web", "id1");
  REQUIRE(u);
  CHECK(u->slice == "system.slice");
  CHECK(u->unit == "ocelot-web.scope");
  u = cgroups::systemd_unit_name("", "id1");
  REQUIRE(u);
  CHECK(u->unit == "ocelot-id1.scope");
  CHECK(u->slice == "system.slice");
  u = cgroups::systemd_unit_name("kubepods-burstable.slice:cri-containerd:abc", "x");
  REQUIRE(u);
  CHECK(u->slice == "kubepods-burstable.slice");
  CHECK(u->unit == "cri-containerd-abc.scope");
  u = cgroups::systemd_unit_name("machine.slice::my.slice", "x");
  REQUIRE(u);
  CHECK(u->unit == "my.slice");
  CHECK(cgroups::systemd_unit_name("/ocelot/x", "x").error().msg ==
        "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"/ocelot/x\" instead");
  CHECK(!cgroups::systemd_unit_name("notaslice:p:n", "x"));
  CHECK(!cgroups::systemd_unit_name("system.slice:p:", "x"));
  CHECK(!cgroups::systemd_unit_name("system.slice:p:a/b", "x"));
  CHECK(cgroups::systemd_cgroups_path(*cgroups::systemd_unit_name("system.slice:ocelot:web", "x")) ==
        "system.slice::ocelot-web");
}

TEST_CASE("systemd: resources become v2 unit properties, the rest stays for the files") {
  spec::Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swap = 96 << 20;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 25000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-1,3";
  r.pids = spec::Pids{42};
  r.hugepage_limits.push_back({"2MB", 4 << 20});
  auto p = cgroups::plan_systemd(r, cgroups::Mode::v2);
  REQUIRE(p);
  auto m = props_of(*p);
  CHECK(m["MemoryMax"] == "t " + std::to_string(64 << 20));
  CHECK(m["MemoryLow"] == "t " + std::to_string(32 << 20));
  CHECK(m["MemorySwapMax"] == "t " + std::to_string(32 << 20));
  CHECK(m["CPUWeight"] == "t 100");
  CHECK(m["CPUQuotaPerSecUSec"] == "t 250000");
  CHECK(m["CPUQuotaPeriodUSec"] == "t 100000");
  CHECK(m["AllowedCPUs"] == "ay 0b");
  CHECK(m["TasksMax"] == "t 42");
  // What systemd has no property for is left for the cgroup files, and nothing twice.
  CHECK(p->rest.hugepage_limits.size() == 1);
  CHECK(!p->rest.memory->limit);
  CHECK(!p->rest.pids);
  CHECK(!p->rest.cpu->quota);
}

TEST_CASE("systemd: quotas round up to systemd's 10 ms steps; unlimited is infinity; v1 names") {
  spec::Resources r;
  r.cpu.emplace();
  r.cpu->quota = 33333;
  r.cpu->period = 100000;
  r.pids = spec::Pids{-1};
  r.memory.emplace();
  r.memory->limit = -1;
  auto m = props_of(*cgroups::plan_systemd(r, cgroups::Mode::v2));
  CHECK(m["CPUQuotaPerSecUSec"] == "t 340000");
  CHECK(m["TasksMax"] == "t infinity");
  CHECK(m["MemoryMax"] == "t infinity");
  r.cpu->quota.reset();
  r.cpu->shares = 512;
  auto v1 = props_of(*cgroups::plan_systemd(r, cgroups::Mode::v1));
  CHECK(v1["MemoryLimit"] == "t infinity");
  CHECK(v1["CPUShares"] == "t 512");
  r.memory->limit = 64 << 20;
  r.memory->swap = 32 << 20;
  CHECK(!cgroups::plan_systemd(r, cgroups::Mode::v2));  // swap (memory+swap) below the limit
}

TEST_CASE("systemd: CPU lists as AllowedCPUs byte masks") {
  CHECK(*cgroups::cpuset_mask_hex("0", "f") == "01");
  CHECK(*cgroups::cpuset_mask_hex("0-3", "f") == "0f");
  CHECK(*cgroups::cpuset_mask_hex("8,9", "f") == "0003");
  CHECK(!cgroups::cpuset_mask_hex("3-1", "f"));
  CHECK(!cgroups::cpuset_mask_hex("a", "f"));
  CHECK(!cgroups::cpuset_mask_hex("1-", "f"));
}

TEST_CASE("systemd: a new scope is delegated, accounted, in its slice, with its first pid") {
  cgroups::UnitName u{"system.slice", "ocelot-x.scope"};
  auto props = cgroups::scope_properties(u, "ocelot container x", 1234);
  std::map<std::string, std::string> m;
  for (const auto& p : props) m[p.name] = p.signature + " " + p.value;
  CHECK(m["Delegate"] == "b true");
  CHECK(m["Slice"] == "s system.slice");
  CHECK(m["PIDs"] == "au 1234");
  CHECK(m["DefaultDependencies"] == "b false");
}
