#include <linux/capability.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "vm/pool/pool.h"
#include "vm/share/guest_config.h"
#include "vm/transport/exec_request.h"
#include "vm/transport/frame.h"
#include "vm/vmm/cpio.h"
#include "vm/vmm/jail.h"
#include "vm/vmm/qemu.h"
#include "vm/vmm/template.h"

using namespace ocelot;
using nlohmann::json;

static bool dirs_only(const std::string& p) { return p.find(".conf") == std::string::npos; }

static bool has_pair(const std::vector<std::string>& a, const std::string& k, const std::string& v) {
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == k && a[i + 1] == v) return true;
  return false;
}

TEST_CASE("the guest plan shares the rootfs and bind sources and rewrites their paths") {
  std::string cfg = R"({"ociVersion":"1.2.0","root":{"path":"rootfs","readonly":true},
    "process":{"args":["sh"],"cwd":"/"},"x-unknown":{"kept":1},
    "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
              {"destination":"/data","type":"bind","source":"/srv/data","options":["rbind","ro"]},
              {"destination":"/etc/app.conf","source":"/etc/app.conf","options":["bind"]},
              {"destination":"/rel","type":"bind","source":"vol"},
              {"destination":"/etc/other.conf","source":"/etc/other.conf","options":["bind"]},
              {"destination":"/data2","type":"bind","source":"/srv/data","options":["rbind"]}],
    "linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/run/netns/x"},{"type":"ipc","path":"/proc/9/ns/ipc"}]},
    "hooks":{"prestart":[{"path":"/bin/true"}]}})";
  auto p = vm::plan_guest(cfg, "/b/bundle", dirs_only);
  REQUIRE(p);
  REQUIRE(p->shares.size() == 5);
  CHECK(p->shares[0].tag == "rootfs");
  CHECK(p->shares[0].host_path == "/b/bundle/rootfs");
  CHECK(p->shares[0].guest_path == "/run/ocelot-vm/rootfs");
  CHECK(p->shares[0].readonly);
  CHECK(p->shares[1].host_path == "/srv/data");
  CHECK(p->shares[1].readonly);
  CHECK(p->shares[2].host_path == "/etc");  // a file: its directory is shared
  CHECK(!p->shares[2].readonly);
  CHECK(p->shares[3].host_path == "/b/bundle/vol");
  json c = json::parse(p->config_json);
  CHECK(c["root"]["path"] == "/run/ocelot-vm/rootfs");
  CHECK(c["mounts"][0]["source"] == "proc");
  CHECK(c["mounts"][1]["source"] == "/run/ocelot-vm/m1");
  CHECK(c["mounts"][2]["source"] == "/run/ocelot-vm/m2/app.conf");
  // A second file of a shared directory uses its share; the same directory writable is another.
  CHECK(c["mounts"][4]["source"] == "/run/ocelot-vm/m2/other.conf");
  CHECK(p->shares[4].host_path == "/srv/data");
  CHECK(!p->shares[4].readonly);
  CHECK(c["mounts"][5]["source"] == "/run/ocelot-vm/m4");
  CHECK(c["x-unknown"]["kept"] == 1);
  CHECK(!c["linux"]["namespaces"][1].contains("path"));
  CHECK(!c["linux"]["namespaces"][2].contains("path"));
  CHECK(!c.contains("hooks"));  // the host runs prestart, createRuntime, poststart, poststop
  // The network namespace's path is kept for the host (its interfaces become the guest's NICs);
  // any other namespace path means nothing in a guest: said once each.
  CHECK(p->host_netns == "/run/netns/x");
  REQUIRE(p->warnings.size() == 1);
  CHECK(p->warnings[0].find("\"ipc\"") != std::string::npos);
}

TEST_CASE("a plan's NICs survive the encoding; a malformed NIC is refused") {
  vm::GuestPlan p;
  p.config_json = "{}";
  p.nics.push_back({"eth0",
                    "aa:bb:cc:dd:ee:ff",
                    1400,
                    {"169.254.1.2/30", "fd00::2/64"},
                    {{"0.0.0.0/0", "169.254.1.1", 0}, {"10.0.0.0/8", "", 20}}});
  auto d = vm::decode_guest_plan(vm::encode_guest_plan(p));
  REQUIRE(d);
  REQUIRE(d->nics.size() == 1);
  CHECK(d->nics[0].name == "eth0");
  CHECK(d->nics[0].mac == "aa:bb:cc:dd:ee:ff");
  CHECK(d->nics[0].mtu == 1400);
  CHECK(d->nics[0].addresses == std::vector<std::string>{"169.254.1.2/30", "fd00::2/64"});
  REQUIRE(d->nics[0].routes.size() == 2);
  CHECK(d->nics[0].routes[0].gateway == "169.254.1.1");
  CHECK(d->nics[0].routes[1].metric == 20);
  CHECK(d->host_netns.empty());  // the host's path never goes to the guest
  for (const char* bad :
       {R"({"config":"{}","shares":[],"nics":{}})", R"({"config":"{}","shares":[],"nics":[7]})",
        R"({"config":"{}","shares":[],"nics":[{"name":"eth0","mac":"m","mtu":-1,"addresses":[],"routes":[]}]})",
        R"({"config":"{}","shares":[],"nics":[{"mac":"m","mtu":1,"addresses":[],"routes":[]}]})",
        R"({"config":"{}","shares":[],"nics":[{"name":"e","mac":"m","mtu":1,"addresses":[1],"routes":[]}]})"})
    CHECK(!vm::decode_guest_plan(bad));
}

TEST_CASE("with NICs the guest's container joins the guest's network namespace by path") {
  auto out = vm::share_guest_netns(
      R"({"linux":{"namespaces":[{"type":"pid"},{"type":"network"},{"type":"mount"}]},"x":1})", "/proc/1/ns/net");
  json c = json::parse(out);
  CHECK(c["linux"]["namespaces"] ==
        json::parse(R"([{"type":"pid"},{"type":"network","path":"/proc/1/ns/net"},{"type":"mount"}])"));
  CHECK(c["x"] == 1);
  for (const char* keep : {"not json", "[]", R"({"linux":{}})", R"({"process":{}})"})
    CHECK(vm::share_guest_netns(keep, "/proc/1/ns/net") == keep);
}

TEST_CASE("the guest plan survives its encoding and rejects what is not a config") {
  auto p = vm::plan_guest(R"({"root":{"path":"/r"},"process":{"args":["x"],"cwd":"/"}})", "/b", dirs_only);
  REQUIRE(p);
  auto back = vm::decode_guest_plan(vm::encode_guest_plan(*p));
  REQUIRE(back);
  CHECK(back->config_json == p->config_json);
  REQUIRE(back->shares.size() == 1);
  CHECK(back->shares[0].guest_path == "/run/ocelot-vm/rootfs");
  CHECK(!back->shares[0].readonly);
  CHECK(vm::plan_guest("[1]", "/b", dirs_only).error().msg == "config.json: not a JSON object");
  CHECK(vm::plan_guest("{}", "/b", dirs_only).error().msg == "config.json: root.path: missing required field");
  CHECK(vm::decode_guest_plan("{\"config\":1}").error().msg == "malformed guest plan from the host");
}

TEST_CASE("hooks that run in the container's namespaces cannot run in a guest: refused by name") {
  auto with = [](const char* kind) {
    return std::string(R"({"root":{"path":"/r"},"process":{"args":["x"],"cwd":"/"},"hooks":{")") + kind +
           R"(":[{"path":"/bin/true"}]}})";
  };
  for (const char* kind : {"createContainer", "startContainer"}) {
    auto p = vm::plan_guest(with(kind), "/b", dirs_only);
    REQUIRE(!p);
    CHECK(p.error().msg.find(kind) != std::string::npos);
  }
  for (const char* kind : {"prestart", "createRuntime", "poststart", "poststop"}) {
    auto p = vm::plan_guest(with(kind), "/b", dirs_only);
    REQUIRE(p);
    CHECK(p->warnings.empty());
    CHECK(p->config_json.find("hooks") == std::string::npos);
  }
}

TEST_CASE("the guest plan never throws on members of the wrong type (the fuzzer's root.readonly object)") {
  // The spec parser refuses such a config; the planner must not abort on it first.
  auto p = vm::plan_guest(R"({"root":{"path":"/r","readonly":{"x":1}},"mounts":[{"type":7,"source":"/s"},3],
                               "linux":{"namespaces":[{"type":1,"path":2}]}})",
                          "/b", dirs_only);
  REQUIRE(p);
  CHECK(!p->shares[0].readonly);
  CHECK(!vm::decode_guest_plan(R"({"config":"{}","shares":[{"tag":"t","path":"/p","readonly":"yes"}]})")
             ->shares[0]
             .readonly);
}

TEST_CASE("a template's spare network namespace replaces a new one, and only a new one without a user namespace") {
  const std::string spare = "/run/ocelot-agent/spare-net";
  auto netns_of = [](const std::string& text) {
    auto c = nlohmann::json::parse(text);
    for (auto& n : c["linux"]["namespaces"])
      if (n["type"] == "network") return n.value("path", std::string("<new>"));
    return std::string("<none>");
  };
  std::string cfg = R"({"linux":{"namespaces":[{"type":"pid"},{"type":"network"},{"type":"mount"}]},"x":1})";
  auto out = vm::join_spare_netns(cfg, spare);
  CHECK(netns_of(out) == spare);
  CHECK(nlohmann::json::parse(out)["x"] == 1);  // the rest is kept
  CHECK(netns_of(vm::join_spare_netns(R"({"linux":{"namespaces":[{"type":"network","path":""}]}})", spare)) == spare);
  // Left alone: a namespace joined by path, none asked for, a user namespace, odd input.
  for (const char* keep : {R"({"linux":{"namespaces":[{"type":"network","path":"/proc/1/ns/net"}]}})",
                           R"({"linux":{"namespaces":[{"type":"pid"}]}})",
                           R"({"linux":{"namespaces":[{"type":"user"},{"type":"network"}]}})",
                           R"({"linux":{"namespaces":[{"type":"network"},{"type":"user"}]}})", R"({"linux":{}})",
                           R"({"process":{}})", R"({"linux":{"namespaces":[{"type":"network"},7]}})", "not json", "[]"})
    CHECK(vm::join_spare_netns(keep, spare) == keep);
}

TEST_CASE("the VMM's environment asks glibc's malloc for huge pages, keeping every other setting") {
  char a[] = "PATH=/bin", b[] = "GLIBC_TUNABLES=glibc.malloc.arena_max=2",
       c[] = "GLIBC_TUNABLES=glibc.malloc.hugetlb=0", d[] = "GLIBC_TUNABLES=";
  char* none[] = {a, nullptr};
  CHECK(vm::vmm_environment(none) == std::vector<std::string>{"PATH=/bin", "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"});
  char* other[] = {b, a, nullptr};
  CHECK(vm::vmm_environment(other) ==
        std::vector<std::string>{"GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1", "PATH=/bin"});
  char* own[] = {c, nullptr};  // the caller's own choice stands
  CHECK(vm::vmm_environment(own) == std::vector<std::string>{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"});
  char* empty[] = {d, nullptr};
  CHECK(vm::vmm_environment(empty) == std::vector<std::string>{"GLIBC_TUNABLES=glibc.malloc.hugetlb=1"});
  CHECK(vm::vmm_environment(nullptr) == std::vector<std::string>{"GLIBC_TUNABLES=glibc.malloc.hugetlb=1"});
}

TEST_CASE("the VMM command line: microvm, TCG facts, 9p shares, no console mixed into the output") {
  vm::VmPlan p;
  p.kernel = "/k/vmlinux";
  p.initrd = "/k/initrd";
  p.tsc_khz = 2100000;
  p.memory_mib = 288;
  p.ctl_socket = "vm.sock";
  p.cmd_socket = "cmd.sock";
  p.stdout_path = "/proc/self/fd/3";
  p.stderr_path = "/proc/self/fd/4";
  p.shares = {{"rootfs", "/b/root,fs", "/run/ocelot-vm/rootfs", true}};
  auto a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-M", "microvm,acpi=on,rtc=on"));
  CHECK(has_pair(a, "-accel", "tcg,tb-size=64"));
  CHECK(has_pair(a, "-m", "288"));
  CHECK(has_pair(a, "-serial", "none"));
  CHECK(has_pair(a, "-fsdev", "local,id=rootfs,path=/b/root,,fs,security_model=passthrough,readonly=on"));
  std::string cmdline = vm::kernel_cmdline(p);
  CHECK(cmdline.find("tsc_early_khz=2100000") != std::string::npos);
  CHECK(cmdline.find("quiet loglevel=0") != std::string::npos);
  CHECK(cmdline.find("console=") == std::string::npos);
  CHECK(cmdline.find("mitigations=off") != std::string::npos);
  p.kvm = true;
  a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-accel", "kvm"));
  CHECK(has_pair(a, "-cpu", "host"));
  CHECK(vm::kernel_cmdline(p).find("tsc_early_khz") == std::string::npos);
  CHECK(vm::kernel_cmdline(p).find("mitigations=off") == std::string::npos);  // only under TCG
  CHECK(has_pair(a, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
  // With a share helper each share is its proxy's, and QEMU may make its one uid drop.
  p.share_helper = "/usr/lib/qemu/virtfs-proxy-helper";
  p.shares.push_back({"m1", "/data", "/data", false});
  a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-fsdev", "proxy,id=rootfs,sock_fd=64,readonly=on"));
  CHECK(has_pair(a, "-fsdev", "proxy,id=m1,sock_fd=65"));
  CHECK(has_pair(a, "-sandbox", "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny"));
  p.served_shares = 1;  // m1 is a template's empty slot: QEMU's own, no helper
  a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-fsdev", "proxy,id=rootfs,sock_fd=64,readonly=on"));
  CHECK(has_pair(a, "-fsdev", "local,id=m1,path=/data,security_model=passthrough"));
  CHECK(vm::plan_jail(p, "/run/ocelot/c1").shares == std::vector<std::string>{"/b/root,fs"});
  p.sandbox = false;  // no jail, no helpers: QEMU serves the shares
  a = vm::qemu_argv(p);
  CHECK(std::find(a.begin(), a.end(), "-sandbox") == a.end());
  CHECK(has_pair(a, "-fsdev", "local,id=m1,path=/data,security_model=passthrough"));
}

TEST_CASE("the VMM's jail holds the plan's paths, writable only where the VMM writes") {
  vm::VmPlan p;
  p.kernel = "/cache/vmlinux";
  p.initrd = "/cache/initrd";
  p.ram_file = "ram";  // a template build: relative to its directory
  p.ram_shared = true;
  p.console_log = "console.log";
  p.shares = {{"rootfs", "/b/rootfs", "/run/ocelot-vm/rootfs", true}, {"m1", "/data", "/data", false}};
  auto j = vm::plan_jail(p, "/run/ocelot/c1");
  CHECK(j.root == "/run/ocelot/c1/vmm-root");
  auto find = [&](const std::string& path) {
    return std::find_if(j.binds.begin(), j.binds.end(), [&](const vm::JailBind& b) { return b.path == path; });
  };
  REQUIRE(find("/usr") != j.binds.end());
  CHECK(!find("/usr")->writable);
  CHECK(!find("/cache/vmlinux")->writable);
  CHECK(!find("/cache/initrd")->writable);
  CHECK(find("/run/ocelot/c1")->writable);
  CHECK(!find("/run/ocelot/c1")->recursive);  // the jail's own root is beneath it
  CHECK(find("/run/ocelot/c1/ram")->writable);
  CHECK(!find("/b/rootfs")->writable);  // the config's readonly root
  CHECK(find("/b/rootfs")->recursive);
  CHECK(find("/data")->writable);
  CHECK(find("/etc/passwd") == j.binds.end());
  CHECK(std::find(j.devices.begin(), j.devices.end(), "/dev/kvm") == j.devices.end());
  CHECK(!j.pts);
  p.kvm = true;
  p.tty_path = "/dev/pts/3";
  p.console_log = "/var/log/guest.log";
  j = vm::plan_jail(p, "/run/ocelot/c1");
  CHECK(std::find(j.devices.begin(), j.devices.end(), "/dev/kvm") != j.devices.end());
  CHECK(j.pts);
  CHECK(find("/var/log")->writable);
  CHECK(vm::jail_capabilities(j).size() == 6);
  CHECK(j.share_helper.empty());
  p.share_helper = "/usr/lib/qemu/virtfs-proxy-helper";
  j = vm::plan_jail(p, "/run/ocelot/c1");
  CHECK(j.share_helper == p.share_helper);
  CHECK(j.shares == std::vector<std::string>{"/b/rootfs", "/data"});
  CHECK(vm::jail_capabilities(j) == std::vector<int>{CAP_SETGID, CAP_SETUID});  // until its -runas
  CHECK(vm::vmm_runas(1234) == "1879049426:1879049426");
}

TEST_CASE("template restores map the saved RAM file private, builds map it shared") {
  vm::VmPlan p;
  p.kernel = "/k/vmlinux";
  p.initrd = "/k/initrd";
  p.memory_mib = 256;
  p.ram_file = "/t/ram";
  p.qmp_socket = "qmp.sock";
  p.incoming = true;
  auto a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-M", "microvm,acpi=on,rtc=on,memory-backend=ram"));
  CHECK(has_pair(a, "-object", "memory-backend-file,id=ram,size=256M,mem-path=/t/ram,share=off"));
  CHECK(has_pair(a, "-qmp", "unix:qmp.sock,server=on,wait=off"));
  CHECK(has_pair(a, "-incoming", "defer"));
  p.ram_shared = true;
  p.incoming = false;
  p.template_build = true;
  a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-object", "memory-backend-file,id=ram,size=256M,mem-path=/t/ram,share=on"));
  CHECK(std::find(a.begin(), a.end(), "-incoming") == a.end());
  CHECK(vm::kernel_cmdline(p).find("ocelot.template=1") != std::string::npos);
}

TEST_CASE("a template key changes with everything the saved guest depends on") {
  vm::VmPlan p;
  p.initrd = "/c/initramfs-1.cpio";
  p.exec_sessions = 4;
  std::string k = vm::template_key(p, "qemu-a", "kernel-a");
  CHECK(vm::template_key(p, "qemu-a", "kernel-a") == k);
  CHECK(vm::template_dir_name(k).size() == 16);
  CHECK(vm::template_key(p, "qemu-b", "kernel-a") != k);
  CHECK(vm::template_key(p, "qemu-a", "kernel-b") != k);
  auto changed = [&](auto&& f) {
    vm::VmPlan q = p;
    f(q);
    return vm::template_key(q, "qemu-a", "kernel-a") != k;
  };
  CHECK(changed([](vm::VmPlan& q) { q.initrd = "/c/initramfs-2.cpio"; }));
  CHECK(changed([](vm::VmPlan& q) { q.memory_mib = 512; }));
  CHECK(changed([](vm::VmPlan& q) { q.cpus = 2; }));
  CHECK(changed([](vm::VmPlan& q) { q.kvm = true; }));
  CHECK(changed([](vm::VmPlan& q) { q.tty_path = "/dev/pts/3"; }));
  CHECK(changed([](vm::VmPlan& q) { q.console_log = "/tmp/c"; }));
  CHECK(changed([](vm::VmPlan& q) { q.tsc_khz = 1; }));
  CHECK(changed([](vm::VmPlan& q) { q.nic_macs = {"aa:bb:cc:dd:ee:ff"}; }));
  // Per-container parts are not in it: the shares' host paths, the sockets, the output files.
  CHECK(!changed([](vm::VmPlan& q) { q.shares = {{"rootfs", "/other", "/run/ocelot-vm/rootfs", false}}; }));
  CHECK(!changed([](vm::VmPlan& q) { q.stdout_path = "/x"; }));
  // A NIC's MAC is the container's (the agent sets it after a restore): only their number counts.
  vm::VmPlan one = p, other = p;
  one.nic_macs = {"aa:bb:cc:dd:ee:ff"};
  other.nic_macs = {"02:00:00:00:00:01"};
  CHECK(vm::template_key(one, "q", "k") == vm::template_key(other, "q", "k"));
}

TEST_CASE("the VMM's NICs: a tap at a fixed fd with the interface's MAC, or a hub port in a template's build") {
  vm::VmPlan p;
  p.nic_macs = {"aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"};
  auto a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-netdev", "tap,id=net0,fd=6"));
  CHECK(has_pair(a, "-netdev", "tap,id=net1,fd=7"));
  CHECK(has_pair(a, "-device", "virtio-net-device,netdev=net0,mac=aa:bb:cc:dd:ee:01"));
  CHECK(has_pair(a, "-device", "virtio-net-device,netdev=net1,mac=aa:bb:cc:dd:ee:02"));
  p.nic_placeholders = true;
  a = vm::qemu_argv(p);
  CHECK(has_pair(a, "-netdev", "hubport,id=net0,hubid=0"));
  CHECK(std::find(a.begin(), a.end(), "tap,id=net0,fd=6") == a.end());
  CHECK(std::count(a.begin(), a.end(), "-netdev") == 2);
  p.nic_macs.clear();
  a = vm::qemu_argv(p);
  CHECK(std::count(a.begin(), a.end(), "-netdev") == 0);
}

TEST_CASE("template slots: the shares padded with an empty directory, too many boot cold") {
  vm::VmPlan p;
  p.shares = {{"rootfs", "/b/rootfs", "/run/ocelot-vm/rootfs", false}, {"m1", "/data", "/run/ocelot-vm/m1", true}};
  CHECK(vm::template_unfit(p).empty());
  auto s = vm::with_template_slots(p, "/empty").shares;
  REQUIRE(s.size() == vm::kTemplateShareSlots);
  CHECK(s[0].host_path == "/b/rootfs");
  CHECK(s[1].host_path == "/data");
  CHECK(s[2].tag == "m2");
  CHECK(s[2].host_path == "/empty");
  CHECK(s[2].readonly);
  CHECK(s.back().tag == "m" + std::to_string(vm::kTemplateShareSlots - 1));
  while (p.shares.size() <= vm::kTemplateShareSlots) p.shares.push_back({"m", "/x", "/y", false});
  CHECK(vm::template_unfit(p).find("shared directories") != std::string::npos);
  p.shares.resize(1);
  p.extra_cmdline = "debug";
  CHECK(!vm::template_unfit(p).empty());
}

TEST_CASE("cpio newc entries are 4-byte aligned with a trailer") {
  vm::CpioWriter w;
  w.dir("lib");
  w.file("init", "abc", 0755);
  std::string a = w.finish();
  CHECK(a.size() % 4 == 0);
  CHECK(a.rfind("070701", 0) == 0);
  CHECK(a.find("TRAILER!!!") != std::string::npos);
  // init's header: mode 0100755, size 3.
  auto at = a.find("init");
  REQUIRE(at != std::string::npos);
  std::string hdr = a.substr(at - 110, 110);
  CHECK(hdr.substr(14, 8) == "000081ED");
  CHECK(hdr.substr(54, 8) == "00000003");
}

TEST_CASE("exec requests carry the exec options to the agent") {
  runtime::ExecOptions o;
  o.id = "c1";
  o.args = {"sh", "-c", "echo \"hi\""};
  o.env = {"A=1"};
  o.cwd = "/tmp";
  o.user = "1000:1000";
  o.additional_gids = {5, 6};
  o.caps = {"CAP_NET_ADMIN"};
  o.no_new_privs = true;
  auto r = vm::decode_exec(vm::encode_exec(o, "{\"args\":[\"x\"]}"));
  REQUIRE(r);
  CHECK(r->options.id == "c1");
  CHECK(r->options.args == o.args);
  CHECK(r->options.env == o.env);
  CHECK(r->options.cwd == "/tmp");
  CHECK(r->options.user == "1000:1000");
  CHECK(r->options.additional_gids == std::vector<uint32_t>{5, 6});
  CHECK(r->options.caps == o.caps);
  CHECK(r->options.no_new_privs);
  CHECK(r->process_text == "{\"args\":[\"x\"]}");
  CHECK(vm::decode_exec("{\"id\":1}").error().msg == "malformed exec request from the host");
  CHECK(vm::decode_exec("nope").error().msg == "malformed exec request from the host");
  CHECK(!r->options.tty_set);
  o.tty = o.tty_set = true;
  auto t = vm::decode_exec(vm::encode_exec(o, ""));
  REQUIRE(t);
  CHECK((t->options.tty && t->options.tty_set));
}

TEST_CASE("an exec's terminal: the process file's, else --tty") {
  runtime::ExecOptions o;
  CHECK(!vm::exec_wants_terminal(o, ""));
  o.tty = o.tty_set = true;
  CHECK(vm::exec_wants_terminal(o, ""));
  CHECK(!vm::exec_wants_terminal(o, R"({"args":["sh"]})"));  // --process decides, as the runtime does
  CHECK(vm::exec_wants_terminal(o, R"({"terminal":true,"args":["sh"]})"));
  o.tty = false;
  CHECK(vm::exec_wants_terminal(o, R"({"terminal":true})"));
  CHECK(!vm::exec_wants_terminal(o, R"({"terminal":"yes"})"));
  CHECK(!vm::exec_wants_terminal(o, "not json"));
}

TEST_CASE("frames: whole frames out of bytes as they come, in any split") {
  std::string wire = vm::encode_frame(vm::FrameType::plan, "{\"a\":1}") + vm::encode_frame(vm::FrameType::start) +
                     vm::encode_frame(vm::FrameType::out, std::string("\0\n\xff", 3));
  for (size_t step : {1, 2, 3, 7, 1000}) {
    vm::FrameReader r;
    std::vector<vm::Frame> got;
    for (size_t i = 0; i < wire.size(); i += step) {
      r.feed(wire.substr(i, step));
      for (;;) {
        auto f = r.next();
        REQUIRE(f);
        if (!*f) break;
        got.push_back(**f);
      }
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0].type == vm::FrameType::plan);
    CHECK(got[0].payload == "{\"a\":1}");
    CHECK(got[1].type == vm::FrameType::start);
    CHECK(got[1].payload.empty());
    CHECK(got[2].payload == std::string("\0\n\xff", 3));
    CHECK(r.buffered() == 0);
  }
}

TEST_CASE("frames: an unknown type or an oversized length is an error") {
  vm::FrameReader r;
  r.feed(std::string("\x63\0\0\0\0", 5));
  CHECK(r.next().error().msg == "malformed frame: unknown type 99");
  vm::FrameReader last;  // "warmed", the newest type, is known; the one after it is not
  last.feed(vm::encode_frame(vm::FrameType::warmed) + std::string("\x13\0\0\0\0", 5));
  auto in = last.next();
  REQUIRE(in);
  REQUIRE(*in);
  CHECK(std::string(vm::frame_type_name((*in)->type)) == "warmed");
  CHECK(last.next().error().msg == "malformed frame: unknown type 19");
  vm::FrameReader big;
  big.feed(std::string("\x01\xff\xff\xff\xff", 5));
  CHECK(!big.next().ok());
}

TEST_CASE("exec sessions: one port and socket each, and the agent waits for all of them") {
  vm::VmPlan p;
  p.ctl_socket = "vm.sock";
  p.cmd_socket = "cmd.sock";
  p.exec_sessions = vm::kExecSessions;
  auto a = vm::qemu_argv(p);
  for (int i = 0; i < vm::kExecSessions; ++i) {
    std::string id = "exec" + std::to_string(i);
    CHECK(has_pair(a, "-chardev", "socket,id=" + id + ",path=" + vm::exec_socket_name(i) + ",server=on,wait=off"));
    CHECK(has_pair(a, "-device", "virtserialport,chardev=" + id + ",name=" + vm::exec_port_name(i)));
  }
  CHECK(vm::kernel_cmdline(p).find("ocelot.ports=" + std::to_string(4 + vm::kExecSessions)) != std::string::npos);
  p.tty_path = "/dev/pts/9";
  CHECK(vm::kernel_cmdline(p).find("ocelot.ports=" + std::to_string(5 + vm::kExecSessions)) != std::string::npos);
  CHECK(vm::exec_lock_name(2) == "exec2.lock");
}

TEST_CASE("resize frames carry \"ROWS COLS\"; anything else is not a size") {
  unsigned short r = 0, c = 0;
  REQUIRE(vm::decode_window_size(vm::encode_window_size(41, 123), &r, &c));
  CHECK((r == 41 && c == 123));
  for (const char* bad : {"", "41", "41 x", "70000 10", "41 123 9", "-1 5"})
    CHECK(!vm::decode_window_size(bad, &r, &c));
}

TEST_CASE("a spare of the pool serves only a plan whose VMM it could have been") {
  using namespace ocelot::vm;
  VmPlan p;
  p.share_helper = "/usr/lib/qemu/virtfs-proxy-helper";
  CHECK(pool_unfit(p).empty());
  VmPlan t = p;
  t.tty_path = "/dev/pts/3";
  CHECK(pool_unfit(t).find("terminal") != std::string::npos);
  VmPlan n = p;
  n.nic_macs = {"02:00:00:00:00:01"};
  CHECK(pool_unfit(n).find("NICs") != std::string::npos);
  VmPlan c = p;
  c.console_log = "/tmp/console";
  CHECK(pool_unfit(c).find("console") != std::string::npos);
  VmPlan r = p;
  r.share_helper.clear();  // QEMU serves the shares itself: no socket to hand over
  CHECK(pool_unfit(r).find("virtfs-proxy-helper") != std::string::npos);
  r = p;
  r.sandbox = false;
  CHECK(!pool_unfit(r).empty());
  CHECK(pool_dir("/run/ocelot") == "/run/ocelot/@vm-pool");
}

TEST_CASE("the warm frames are known to the frame reader") {
  using namespace ocelot::vm;
  FrameReader r;
  r.feed(encode_frame(FrameType::warm, "m3\n330") + encode_frame(FrameType::warmed));
  auto a = r.next();
  REQUIRE(a);
  REQUIRE(*a);
  CHECK((*a)->type == FrameType::warm);
  CHECK((*a)->payload == "m3\n330");
  auto b = r.next();
  REQUIRE(b);
  REQUIRE(*b);
  CHECK((*b)->type == FrameType::warmed);
  CHECK(std::string(frame_type_name(FrameType::warmed)) == "warmed");
}
