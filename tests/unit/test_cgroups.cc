#include <doctest/doctest.h>

#include <algorithm>

#include "cgroups/layout.h"
#include "cgroups/manager.h"
#include "cgroups/plan.h"

using namespace ocelot;

namespace {

const char* kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kV2 =
    "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
const char* kV1 =
    "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:8 - cgroup cgroup rw,cpu,cpuacct\n"
    "26 24 0:23 /docker/abc /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory\n";

const cgroups::FileWrite* find(const cgroups::Plan& p, const std::string& file) {
  for (const auto& w : p.writes)
    if (w.file == file) return &w;
  return nullptr;
}

}  // namespace

TEST_CASE("layout detection: this machine's hybrid layout") {
  auto l = *cgroups::parse_layout(kHybrid, "hugetlb\n");
  CHECK(l.mode == cgroups::Mode::hybrid);
  CHECK(l.where("memory") == cgroups::Hierarchy::v1);
  CHECK(l.where("hugetlb") == cgroups::Hierarchy::v2);
  CHECK(l.where("rdma") == cgroups::Hierarchy::none);
  CHECK(l.v1.at("name=systemd").mount_point == "/sys/fs/cgroup/systemd");
  CHECK(l.v2_mount == "/sys/fs/cgroup/unified");
}

TEST_CASE("layout detection: pure v2 and pure v1 (co-mounted, nested root)") {
  auto v2 = *cgroups::parse_layout(kV2, "cpuset cpu io memory hugetlb pids rdma misc\n");
  CHECK(v2.mode == cgroups::Mode::v2);
  CHECK(v2.where("memory") == cgroups::Hierarchy::v2);
  auto v1 = *cgroups::parse_layout(kV1, "");
  CHECK(v1.mode == cgroups::Mode::v1);
  CHECK(v1.v1.at("cpuacct").mount_point == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(v1.v1.at("memory").root == "/docker/abc");
  CHECK(!cgroups::parse_layout("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n", "").ok());
}

TEST_CASE("cgroupsPath: absent, absolute, relative to our own cgroup, systemd") {
  auto l = *cgroups::parse_layout(kHybrid, "hugetlb\n");
  auto own = cgroups::parse_proc_cgroup("4:memory:/process_api/x\n1:cpu:/\n0::/\n");
  auto def = *cgroups::resolve_paths(l, "", "web", own);
  CHECK(def.v1.at("memory") == "/sys/fs/cgroup/memory/ocelot/web");
  CHECK(def.v2 == "/sys/fs/cgroup/unified/ocelot/web");
  auto abs = *cgroups::resolve_paths(l, "/a/b", "web", own);
  CHECK(abs.v1.at("pids") == "/sys/fs/cgroup/pids/a/b");
  auto rel = *cgroups::resolve_paths(l, "a/b", "web", own);
  CHECK(rel.v1.at("memory") == "/sys/fs/cgroup/memory/process_api/x/a/b");
  CHECK(rel.v1.at("cpu") == "/sys/fs/cgroup/cpu/a/b");
  CHECK(*cgroups::systemd_to_cgroupfs("machine.slice:libpod:abc") == "/machine.slice/libpod-abc.scope");
  CHECK(*cgroups::systemd_to_cgroupfs("a-b-c.slice:docker:x") == "/a.slice/a-b.slice/a-b-c.slice/docker-x.scope");
  CHECK(!cgroups::systemd_to_cgroupfs("notaslice:p:n").ok());
  auto sd = *cgroups::resolve_paths(l, "system.slice:ocelot:web", "web", own);
  CHECK(sd.v1.at("memory") == "/sys/fs/cgroup/memory/system.slice/ocelot-web.scope");

  // Pure v2: our own cgroup holds us, so relative paths hang off its parent (runc's fs2).
  auto v2 = *cgroups::parse_layout(kV2, "cpuset cpu io memory pids\n");
  auto own2 = cgroups::parse_proc_cgroup("0::/system.slice/job.service\n");
  CHECK(cgroups::resolve_paths(v2, "a/b", "web", own2)->v2 == "/sys/fs/cgroup/system.slice/a/b");
  CHECK(cgroups::resolve_paths(v2, "/a/b", "web", own2)->v2 == "/sys/fs/cgroup/a/b");
  CHECK(cgroups::resolve_paths(v2, "a", "web", cgroups::parse_proc_cgroup("0::/\n"))->v2 == "/sys/fs/cgroup/a");
}

TEST_CASE("v1 plan: every controller's files") {
  spec::Resources r;
  r.memory = spec::Memory{};
  r.memory->limit = 1 << 20;
  r.memory->swap = 2 << 20;
  r.memory->reservation = 1 << 19;
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  r.memory->kernel = 1;
  r.memory->kernel_tcp = 3 << 20;
  r.cpu = spec::Cpu{};
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0";
  r.pids = spec::Pids{10};
  r.block_io = spec::BlockIo{};
  r.block_io->weight = 500;
  r.block_io->throttle_read_bps.push_back({8, 0, 1000});
  r.hugepage_limits.push_back({"2MB", 4194304});
  r.network = spec::Network{};
  r.network->class_id = 7;
  auto p = *cgroups::plan_v1(r);
  CHECK(find(p, "memory.limit_in_bytes")->value == "1048576");
  CHECK(find(p, "memory.memsw.limit_in_bytes")->value == "2097152");
  CHECK(find(p, "memory.soft_limit_in_bytes")->value == "524288");
  CHECK(find(p, "memory.swappiness")->value == "10");
  CHECK(find(p, "memory.oom_control")->value == "1");
  CHECK(find(p, "memory.kmem.tcp.limit_in_bytes")->value == "3145728");
  CHECK(find(p, "memory.kmem.tcp.limit_in_bytes")->optional);
  CHECK(find(p, "cpu.shares")->value == "512");
  CHECK(find(p, "cpu.cfs_quota_us")->value == "50000");
  CHECK(find(p, "cpuset.cpus")->controller == "cpuset");
  CHECK(find(p, "pids.max")->value == "10");
  CHECK(find(p, "blkio.weight")->value == "500");
  CHECK(find(p, "blkio.throttle.read_bps_device")->value == "8:0 1000");
  CHECK(find(p, "hugetlb.2MB.limit_in_bytes")->value == "4194304");
  CHECK(find(p, "net_cls.classid")->value == "7");
  CHECK(p.warnings.size() == 1);
  // period before quota: the kernel checks the quota against the current period
  auto period = std::find_if(p.writes.begin(), p.writes.end(), [](auto& w) { return w.file == "cpu.cfs_period_us"; });
  auto quota = std::find_if(p.writes.begin(), p.writes.end(), [](auto& w) { return w.file == "cpu.cfs_quota_us"; });
  CHECK(period < quota);
  r.unified["memory.max"] = "1";
  CHECK(cgroups::plan_v1(r).error().msg ==
        "linux.resources.unified: needs cgroup v2, and this host has only cgroup v1");
}

TEST_CASE("v2 plan: conversions from the v1 values of the spec") {
  spec::Resources r;
  r.memory = spec::Memory{};
  r.memory->limit = 100;
  r.memory->swap = 300;
  r.cpu = spec::Cpu{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.pids = spec::Pids{-1};
  r.hugepage_limits.push_back({"1GB", 0});
  r.unified["io.weight"] = "50";
  auto p = *cgroups::plan_v2(r);
  CHECK(find(p, "memory.max")->value == "100");
  CHECK(find(p, "memory.swap.max")->value == "200");  // swap alone on v2
  CHECK(find(p, "cpu.weight")->value == "100");
  CHECK(find(p, "cpu.max")->value == "50000 100000");
  CHECK(find(p, "pids.max")->value == "max");
  CHECK(find(p, "hugetlb.1GB.max")->value == "0");
  CHECK(find(p, "io.weight")->controller == "io");
  r.memory->swap = 50;
  CHECK(cgroups::plan_v2(r).error().msg ==
        "linux.resources.memory.swap: must not be lower than memory.limit (50 < 100)");
}

TEST_CASE("cpu shares to weight: runc >= 1.3 / crun >= 1.23 curve") {
  CHECK(cgroups::cpu_shares_to_weight(2) == 1);
  CHECK(cgroups::cpu_shares_to_weight(1024) == 100);
  CHECK(cgroups::cpu_shares_to_weight(262144) == 10000);
  CHECK(cgroups::cpu_shares_to_weight(512) < 100);
  CHECK(cgroups::cpu_shares_to_weight(0) == 0);
  CHECK(cgroups::blkio_weight_to_io_weight(10) == 1);
  CHECK(cgroups::blkio_weight_to_io_weight(1000) == 10000);
}

TEST_CASE("device rules") {
  spec::DeviceCgroup d;
  d.allow = false;
  d.access = "rwm";
  CHECK(cgroups::v1_device_rule(d) == "a *:* rwm");
  d.type = "c";
  d.major = 1;
  d.minor = 3;
  CHECK(cgroups::v1_device_rule(d) == "c 1:3 rwm");
  CHECK(cgroups::default_allowed_devices().size() >= 10);
}
