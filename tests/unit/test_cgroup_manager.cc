// The managers against a temp directory that looks like the cgroup mounts: every file a kernel
// would have is pre-created (the managers write with O_WRONLY, never create), and the test reads
// back what was written.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cgroups/manager.h"

using namespace ocelot;
namespace stdfs = std::filesystem;

namespace {

struct TempHier {
  std::string root;
  TempHier() {
    char t[] = "/tmp/ocelot-cg-XXXXXX";
    root = ::mkdtemp(t);
    for (const char* h : {"memory", "pids", "blkio", "cpu", "freezer", "devices", "unified"})
      stdfs::create_directories(root + "/" + h);
  }
  ~TempHier() { stdfs::remove_all(root); }
  void touch(const std::string& rel, const std::string& content = "") {
    stdfs::create_directories(stdfs::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel) << content;
  }
  std::string read(const std::string& rel) {
    std::ifstream f(root + "/" + rel);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  bool exists(const std::string& rel) { return stdfs::exists(root + "/" + rel); }
};

cgroups::Layout hybrid(const std::string& root) {
  cgroups::Layout l;
  l.mode = cgroups::Mode::hybrid;
  for (const char* c : {"memory", "pids", "blkio", "cpu", "freezer", "devices"}) l.v1[c] = {root + "/" + c, "/"};
  l.v2_mount = root + "/unified";
  l.v2_controllers = {"hugetlb"};
  return l;
}

}  // namespace

TEST_CASE("hybrid manager: each resource in the hierarchy that holds its controller") {
  TempHier t;
  auto l = hybrid(t.root);
  auto paths = *cgroups::resolve_paths(l, "/ocelot/c1", "c1", {});
  auto m = cgroups::make_fs_manager(l, paths);
  CHECK(!m->occupied());
  REQUIRE(m->create());
  for (const char* f :
       {"memory/ocelot/c1/memory.limit_in_bytes", "pids/ocelot/c1/pids.max", "unified/ocelot/c1/hugetlb.2MB.max",
        "blkio/ocelot/c1/blkio.weight", "cpu/ocelot/c1/cpu.shares"})
    t.touch(f);
  spec::Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.pids = spec::Pids{42};
  r.hugepage_limits = {{"2MB", 4 << 20}};
  r.block_io.emplace();
  r.block_io->weight = 0;  // docker sends 0 for "unset": nothing may be written
  r.cpu.emplace();
  r.cpu->shares = 0;
  REQUIRE(m->apply(r, {}));
  CHECK(t.read("memory/ocelot/c1/memory.limit_in_bytes") == std::to_string(64 << 20));
  CHECK(t.read("pids/ocelot/c1/pids.max") == "42");
  CHECK(t.read("unified/ocelot/c1/hugetlb.2MB.max") == std::to_string(4 << 20));
  CHECK(t.read("blkio/ocelot/c1/blkio.weight").empty());
  CHECK(t.read("cpu/ocelot/c1/cpu.shares").empty());
}

TEST_CASE("a resource whose controller the host lacks is an error, not silence") {
  TempHier t;
  auto l = hybrid(t.root);
  auto m = cgroups::make_fs_manager(l, *cgroups::resolve_paths(l, "/ocelot/c2", "c2", {}));
  REQUIRE(m->create());
  spec::Resources r;
  r.network.emplace();
  r.network->class_id = 7;
  auto st = m->apply(r, {});
  REQUIRE(!st);
  CHECK(st.error().msg == "linux.resources: the \"net_cls\" cgroup controller is not available on this host");
  spec::Resources u;
  u.unified["memory.max"] = "1";  // memory lives in v1 here
  auto su = m->apply(u, {});
  REQUIRE(!su);
  CHECK(su.error().msg.find("\"memory\" controller is not in this host's cgroup v2 hierarchy") != std::string::npos);
}

TEST_CASE("a cgroup that already holds processes is occupied (shared)") {
  TempHier t;
  auto l = hybrid(t.root);
  auto paths = *cgroups::resolve_paths(l, "/shared", "c3", {});
  t.touch("pids/shared/cgroup.procs", "1\n");
  auto m = cgroups::make_fs_manager(l, paths);
  CHECK(m->occupied());
  t.touch("pids/shared/cgroup.procs", "");
  CHECK(!m->occupied());
}

TEST_CASE("cgroupsPath: the root, in any spelling, is refused") {
  TempHier t;
  auto l = hybrid(t.root);
  for (const char* p : {"/", "/.", "//", "/./."})
    CHECK(cgroups::resolve_paths(l, p, "c", {}).error().msg.find("root cgroup") != std::string::npos);
  CHECK(!cgroups::resolve_paths(l, "/a/..", "c", {}).ok());
  // Relative to a caller that is itself in the root cgroup: "." is the root too.
  std::map<std::string, std::string> own = {{"memory", "/"},  {"pids", "/"},    {"blkio", "/"}, {"cpu", "/"},
                                            {"freezer", "/"}, {"devices", "/"}, {"", "/"}};
  CHECK(!cgroups::resolve_paths(l, ".", "c", own).ok());
  CHECK(cgroups::resolve_paths(l, "sub", "c", own).ok());
}
