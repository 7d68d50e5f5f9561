// Checkpoint and restore's pure pieces: what CRIU is asked (runtime/criu.h).
#include <doctest/doctest.h>

#include <algorithm>

#include "runtime/criu.h"

using namespace ocelot;

namespace {

bool has_seq(const std::vector<std::string>& a, std::vector<std::string> seq) {
  return std::search(a.begin(), a.end(), seq.begin(), seq.end()) != a.end();
}

}  // namespace

TEST_CASE("criu dump: the init's tree, runc's flags, bind mounts and a joined netns as externals") {
  runtime::DumpPlan p;
  p.o.image_path = "/img";
  p.pid = 42;
  p.binds = {{"/data", "/host/data"}, {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/ocelot/c"}};
  p.external_net = true;
  p.net_inode = 4026531992;
  auto a = runtime::criu_dump_args(p);
  CHECK(a[0] == "dump");
  CHECK(has_seq(a, {"--tree", "42"}));
  CHECK(has_seq(a, {"--images-dir", "/img", "--work-dir", "/img"}));
  CHECK(has_seq(a, {"--manage-cgroups=soft"}));
  // Dumped under their destination: restore maps each to its (new) source.
  CHECK(has_seq(a, {"--external", "mnt[/data]:/data"}));
  CHECK(has_seq(a, {"--external", "mnt[/sys/fs/cgroup/memory]:/sys/fs/cgroup/memory"}));
  CHECK(has_seq(a, {"--external", "net[4026531992]:extRootNetNS"}));
  CHECK(std::find(a.begin(), a.end(), "--leave-running") == a.end());
  CHECK(std::find(a.begin(), a.end(), "--freeze-cgroup") == a.end());
  p.freeze_cgroup = "/sys/fs/cgroup/freezer/ocelot/c";
  CHECK(has_seq(runtime::criu_dump_args(p), {"--freeze-cgroup", "/sys/fs/cgroup/freezer/ocelot/c"}));

  p.o.leave_running = p.o.tcp_established = p.o.ext_unix_sk = p.o.shell_job = p.o.file_locks = true;
  p.o.work_path = "/work";
  p.o.manage_cgroups_mode = "full";
  p.o.empty_ns = {"network"};
  a = runtime::criu_dump_args(p);
  for (const char* f : {"--leave-running", "--tcp-established", "--ext-unix-sk", "--shell-job", "--file-locks",
                        "--manage-cgroups=full"})
    CHECK(std::find(a.begin(), a.end(), f) != a.end());
  CHECK(has_seq(a, {"--work-dir", "/work"}));
  CHECK(has_seq(a, {"--empty-ns", "net"}));
}

TEST_CASE("criu pre-dump: tracks memory, never --leave-running (it always does), a parent chain") {
  runtime::DumpPlan p;
  p.o.image_path = "/img";
  p.o.pre_dump = true;
  p.o.leave_running = false;
  p.o.parent_path = "../parent";
  p.pid = 7;
  auto a = runtime::criu_dump_args(p);
  CHECK(a[0] == "pre-dump");
  CHECK(std::find(a.begin(), a.end(), "--track-mem") != a.end());
  CHECK(has_seq(a, {"--prev-images-dir", "../parent"}));
}

TEST_CASE("criu restore: detached, a sibling, the root, the new cgroup, sources for externals, inherited fds") {
  runtime::RestorePlan p;
  p.o.image_path = "/img";
  p.root = "/run/ocelot/c/criu-root";
  p.pid_file = "/run/ocelot/c/criu.pid";
  p.cgroup_root = "/ocelot/new";
  p.binds = {{"/data", "/host/data"}};
  p.inherit = {{1, "pipe:[123]"}, {5, "extRootNetNS"}};
  auto a = runtime::criu_restore_args(p);
  CHECK(a[0] == "restore");
  CHECK(has_seq(a, {"--restore-detached", "--restore-sibling", "--pidfile", "/run/ocelot/c/criu.pid"}));
  CHECK(has_seq(a, {"--root", "/run/ocelot/c/criu-root"}));
  CHECK(has_seq(a, {"--cgroup-root", "/ocelot/new"}));
  CHECK(has_seq(a, {"--external", "mnt[/data]:/host/data"}));
  CHECK(has_seq(a, {"--inherit-fd", "fd[1]:pipe:[123]"}));
  CHECK(has_seq(a, {"--inherit-fd", "fd[5]:extRootNetNS"}));
}

TEST_CASE("criu options CRIU cannot honour here are refused by name") {
  runtime::CriuOptions o;
  CHECK(runtime::check_criu_options(o, false));
  o.lazy_pages = true;
  CHECK(runtime::check_criu_options(o, false).error().msg.find("--lazy-pages") != std::string::npos);
  o = {};
  o.empty_ns = {"pid"};
  CHECK(!runtime::check_criu_options(o, false));
  o = {};
  o.manage_cgroups_mode = "sometimes";
  CHECK(!runtime::check_criu_options(o, true));
  o = {};
  o.pre_dump = true;
  CHECK(!runtime::check_criu_options(o, true));
}

TEST_CASE("descriptors.json: runc's format; only pipes are inherited on restore") {
  std::vector<std::string> fds = {"/dev/null", "pipe:[99]", "pipe:[100]"};
  auto back = runtime::parse_descriptors_json(runtime::descriptors_json(fds));
  REQUIRE(back);
  CHECK(*back == fds);
  auto in = runtime::inherited_stdio(*back);
  REQUIRE(in.size() == 2);
  CHECK(in[0] == std::pair<int, std::string>{1, "pipe:[99]"});
  CHECK(in[1] == std::pair<int, std::string>{2, "pipe:[100]"});
  CHECK(!runtime::parse_descriptors_json("{\"a\":1}"));
  CHECK(!runtime::parse_descriptors_json("[1,2]"));
  CHECK(!runtime::parse_descriptors_json("not json"));
}
