// Checkpoint and restore's pure pieces: what CRIU is asked (runtime/criu.h).
#include <doctest/doctest.h>

#include <algorithm>

#include "runtime/criu.h"
#include "runtime/criu_rpc.h"

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
  auto call = runtime::criu_dump_call(p);
  auto a = call.options;
  CHECK(call.action == "dump");
  CHECK(has_seq(a, {"--tree", "42"}));
  CHECK((call.images_dir == "/img" && call.work_dir == "/img"));  // sent as fds, not options
  CHECK(call.inherit.empty());
  CHECK(has_seq(a, {"--manage-cgroups=soft"}));
  // Dumped under their destination: restore maps each to its (new) source.
  CHECK(has_seq(a, {"--external", "mnt[/data]:/data"}));
  CHECK(has_seq(a, {"--external", "mnt[/sys/fs/cgroup/memory]:/sys/fs/cgroup/memory"}));
  CHECK(has_seq(a, {"--external", "net[4026531992]:extRootNetNS"}));
  CHECK(std::find(a.begin(), a.end(), "--leave-running") == a.end());
  CHECK(std::find(a.begin(), a.end(), "--freeze-cgroup") == a.end());
  p.freeze_cgroup = "/sys/fs/cgroup/freezer/ocelot/c";
  CHECK(has_seq(runtime::criu_dump_call(p).options, {"--freeze-cgroup", "/sys/fs/cgroup/freezer/ocelot/c"}));

  p.o.leave_running = p.o.tcp_established = p.o.ext_unix_sk = p.o.shell_job = p.o.file_locks = true;
  p.o.work_path = "/work";
  p.o.manage_cgroups_mode = "full";
  p.o.empty_ns = {"network"};
  call = runtime::criu_dump_call(p);
  a = call.options;
  for (const char* f : {"--leave-running", "--tcp-established", "--ext-unix-sk", "--shell-job", "--file-locks",
                        "--manage-cgroups=full"})
    CHECK(std::find(a.begin(), a.end(), f) != a.end());
  CHECK(call.work_dir == "/work");
  CHECK(has_seq(a, {"--empty-ns", "net"}));
}

TEST_CASE("criu pre-dump: tracks memory, never --leave-running (it always does), a parent chain") {
  runtime::DumpPlan p;
  p.o.image_path = "/img";
  p.o.pre_dump = true;
  p.o.leave_running = false;
  p.o.parent_path = "../parent";
  p.pid = 7;
  auto call = runtime::criu_dump_call(p);
  auto a = call.options;
  CHECK(call.action == "pre-dump");
  CHECK(std::find(a.begin(), a.end(), "--track-mem") != a.end());
  CHECK(has_seq(a, {"--prev-images-dir", "../parent"}));
}

TEST_CASE("criu restore: the root, the new cgroup, sources for externals, inherited fds") {
  runtime::RestorePlan p;
  p.o.image_path = "/img";
  p.root = "/run/ocelot/c/criu-root";
  p.cgroup_root = "/ocelot/new";
  p.binds = {{"/data", "/host/data"}};
  p.inherit = {{1, "pipe:[123]"}, {5, "extRootNetNS"}};
  auto call = runtime::criu_restore_call(p);
  auto a = call.options;
  CHECK(call.action == "restore");
  // Detached and a sibling come with the RPC request (swrk restores detached; rst_sibling).
  CHECK(std::find(a.begin(), a.end(), "--restore-sibling") == a.end());
  CHECK(has_seq(a, {"--root", "/run/ocelot/c/criu-root"}));
  CHECK(has_seq(a, {"--cgroup-root", "/ocelot/new"}));
  CHECK(has_seq(a, {"--external", "mnt[/data]:/host/data"}));
  // Inherited fds go in the request (CRIU 3.17 failed on the configuration file's --inherit-fd).
  CHECK(call.inherit == std::vector<std::pair<int, std::string>>{{1, "pipe:[123]"}, {5, "extRootNetNS"}});
  CHECK(std::find(a.begin(), a.end(), "--inherit-fd") == a.end());
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

TEST_CASE("criu rpc: a dump request's protobuf bytes, field by field") {
  runtime::CriuRpcRequest r;
  r.type = runtime::CriuRpcType::dump;
  r.images_dir_fd = 5;
  r.pid = 300;
  r.log_file = "d.log";
  r.orphan_pts_master = true;
  r.config_file = "/c";
  std::string opts = std::string("\x08\x05", 2)  // images_dir_fd = 5
                     + "\x10\xac\x02"            // pid = 300 (varint ac 02)
                     + "\x48\x04"                // log_level = 4
                     +
                     "\x52\x05"
                     "d.log"              // log_file
                     + "\x60\x01"         // notify_scripts
                     + "\x90\x03\x01"     // orphan_pts_master (field 50)
                     + "\x9a\x03\x02/c";  // config_file (field 51)
  std::string want = std::string("\x08\x01\x12", 3) + static_cast<char>(opts.size()) + opts;
  CHECK(runtime::encode_criu_request(r) == want);
}

TEST_CASE("criu rpc: a negative fd is a ten-byte varint; a notify answer is type and success only") {
  runtime::CriuRpcRequest r;
  r.type = runtime::CriuRpcType::restore;
  r.rst_sibling = true;
  r.inherit_fds = {{10, "pipe:[7]"}};
  std::string e = runtime::encode_criu_request(r);
  // inherit_fd (field 27) { key = 1: "pipe:[7]"; fd = 2: 10 }
  CHECK(e.find(std::string("\xda\x01\x0c\x0a\x08pipe:[7]\x10\x0a", 15)) != std::string::npos);
  CHECK(e.substr(0, 2) == std::string("\x08\x02", 2));
  CHECK(e.find(std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)) != std::string::npos);
  CHECK(e.find(std::string("\xd0\x01\x01", 3)) != std::string::npos);  // rst_sibling (field 26)
  runtime::CriuRpcRequest n;
  n.type = runtime::CriuRpcType::notify;
  n.notify_success = true;
  CHECK(runtime::encode_criu_request(n) == std::string("\x08\x06\x18\x01", 4));
}

TEST_CASE("criu rpc: responses decode; unknown fields are skipped; garbage is an error") {
  // type restore, success, restore { pid = 4242 }, an unknown fixed32 field 20, cr_errmsg.
  std::string ok_restore = std::string("\x08\x02\x10\x01\x22\x03\x08\x92\x21", 9) + "\xa5\x01" + "abcd";
  auto r = runtime::decode_criu_response(ok_restore);
  REQUIRE(r);
  CHECK(r->type == runtime::CriuRpcType::restore);
  CHECK(r->success);
  CHECK(r->restored_pid == 4242);
  std::string notify = std::string("\x08\x06\x10\x01\x2a\x13\x0a\x11", 8) + "orphan-pts-master";
  auto n = runtime::decode_criu_response(notify);
  REQUIRE(n);
  CHECK(n->type == runtime::CriuRpcType::notify);
  CHECK(n->notify_script == "orphan-pts-master");
  std::string failed = std::string("\x08\x01\x10\x00\x38\x02\x4a\x04", 8) + "oops";
  auto f = runtime::decode_criu_response(failed);
  REQUIRE(f);
  CHECK(!f->success);
  CHECK(f->cr_errno == 2);
  CHECK(f->cr_errmsg == "oops");
  CHECK(!runtime::decode_criu_response(std::string("\x08\x01\x4a\x10", 4) + "short"));
  CHECK(!runtime::decode_criu_response(std::string("\x10\x01", 2)));  // no type
  CHECK(!runtime::decode_criu_response(std::string("\x0b", 1)));      // wire type 3
}

TEST_CASE("criu rpc: the planner's options as CRIU's configuration file") {
  auto t = runtime::criu_config_text(
      {"--root", "/r oot", "--manage-cgroups=soft", "--tcp-established", "--external", "mnt[/a]:/b\"c"});
  REQUIRE(t);
  CHECK(*t == "root \"/r oot\"\nmanage-cgroups=soft\ntcp-established\nexternal \"mnt[/a]:/b\\\"c\"\n");
  auto bad = runtime::criu_config_text({"--root", "/a#b"});
  REQUIRE(!bad);
  CHECK(bad.error().msg.find("'#'") != std::string::npos);
  CHECK(!runtime::criu_config_text({"root"}));
}
