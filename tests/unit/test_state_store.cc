#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"
#include "runtime/state_store.h"

using namespace ocelot;
namespace stdfs = std::filesystem;

namespace {
struct TempRoot {
  std::string dir;
  TempRoot() {
    char t[] = "/tmp/ocelot-state-XXXXXX";
    dir = ::mkdtemp(t);
  }
  ~TempRoot() { stdfs::remove_all(dir); }
  void write(const std::string& rel, const std::string& s) {
    stdfs::create_directories(stdfs::path(dir + "/" + rel).parent_path());
    std::ofstream(dir + "/" + rel) << s;
  }
};
}  // namespace

TEST_CASE("state store: a record survives save and load") {
  TempRoot t;
  runtime::StateStore store(t.dir);
  auto lock = store.create_dir("c1");
  REQUIRE(lock);
  runtime::Stored s;
  s.id = "c1";
  s.phase = spec::ContainerStatus::created;
  s.init = {123, 456};
  s.bundle = "/b";
  s.cgroup_paths.v1["memory"] = "/sys/fs/cgroup/memory/ocelot/c1";
  s.cgroup_paths.v2 = "/sys/fs/cgroup/unified/ocelot/c1";
  s.cgroup_owned = false;
  s.host_mount_ns = true;
  REQUIRE(store.save(s));
  auto back = store.load("c1");
  REQUIRE(back);
  CHECK(back->phase == spec::ContainerStatus::created);
  CHECK(back->init.pid == 123);
  CHECK(back->init.start == 456);
  CHECK(back->cgroup_paths.v1.at("memory") == s.cgroup_paths.v1.at("memory"));
  CHECK(!back->cgroup_owned);
  CHECK(back->host_mount_ns);
  CHECK(store.create_dir("c1").error().msg == "container with id exists: c1");
}

TEST_CASE("state store: a damaged state file is an error, never an exception") {
  TempRoot t;
  runtime::StateStore store(t.dir);
  for (const char* bad : {"", "[1,2]", "{\"pid\":\"x\"}", "{\"cgroupPaths\":{\"v1\":{\"memory\":7}}}",
                          "{\"phase\":\"running\"}", "{\"pid\":-5}", "{\"backend\":\"../x\"}", "{\"backend\":7}",
                          "{\"cgroupDriver\":[]}", "{\"cgroupPaths\":[]}", "{\"uidMap\":{}}", "{\"cgroupMade\":[1]}"}) {
    t.write("c1/state.json", bad);
    auto s = store.load("c1");
    CHECK_MESSAGE(!s.ok(), bad);
    if (!s.ok()) CHECK(s.error().msg.rfind("state of container \"c1\" is corrupt", 0) == 0);
  }
}

TEST_CASE("state store: a directory without state.json is a bare `creating` container") {
  TempRoot t;
  runtime::StateStore store(t.dir);
  stdfs::create_directories(t.dir + "/half");
  auto s = store.load("half");
  REQUIRE(s);
  CHECK(s->phase == spec::ContainerStatus::creating);
  CHECK(s->init.pid == 0);
  CHECK(store.load("none").error().msg == "container does not exist");
  auto ids = store.ids();
  REQUIRE(ids);
  CHECK(*ids == std::vector<std::string>{"half"});
}

TEST_CASE("container ids: checked before any path, echoed with escapes") {
  CHECK(runtime::validate_id("a-b_c.1+2"));
  CHECK(runtime::validate_id("a\nb").error().msg ==
        "invalid container id \"a\\nb\": only letters, digits and _+-. are allowed");
  CHECK(!runtime::validate_id("../x"));
  CHECK(!runtime::validate_id(".."));
  CHECK(!runtime::validate_id(""));
  CHECK(!runtime::validate_id(std::string(1025, 'a')));
}

TEST_CASE("list's owner comes from /etc/passwd without NSS") {
  CHECK(ocelot::fs::user_name(0) == "root");
  CHECK(ocelot::fs::user_name(4294967294u) == "4294967294");  // no such user: the number
}
