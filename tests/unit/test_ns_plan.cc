#include <doctest/doctest.h>
#include <sched.h>
#include <sys/socket.h>

#include "namespaces/netlink.h"
#include "namespaces/plan.h"
#include "namespaces/user_ns.h"

using namespace ocelot;

static spec::Linux with(std::vector<spec::Namespace> ns) {
  spec::Linux l;
  l.namespaces = std::move(ns);
  return l;
}

TEST_CASE("namespace plan: new namespaces are clone flags; cgroup and time are made apart") {
  auto p = *ns::plan_namespaces(
      with({{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}, {"cgroup", ""}, {"time", ""}}));
  CHECK(p.clone_flags == (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS));
  CHECK(p.new_cgroup);
  CHECK(p.new_time);
  CHECK(p.unshare_flags == 0);
  CHECK(p.joins.empty());
  CHECK(p.has("mount"));
  CHECK(!p.has("user"));
}

TEST_CASE("namespace plan: joins in order, user first and mount last, whatever the config's order") {
  auto p = *ns::plan_namespaces(with({{"mount", "/proc/9/ns/mnt"},
                                      {"network", "/run/netns/a"},
                                      {"ipc", ""},
                                      {"user", "/proc/9/ns/user"},
                                      {"uts", "/proc/9/ns/uts"},
                                      {"pid", "/proc/9/ns/pid"}}));
  REQUIRE(p.joins.size() == 4);
  CHECK(p.joins[0].type == "user");
  CHECK(p.joins[1].type == "uts");
  CHECK(p.joins[2].type == "network");
  CHECK(p.joins[3].type == "mount");
  CHECK(p.pid_path == "/proc/9/ns/pid");  // the parent joins it, around clone()
  // With a joined user namespace, new namespaces are made after joining it, so that it owns them.
  CHECK(p.unshare_flags == CLONE_NEWIPC);
  CHECK(p.clone_flags == 0);
  CHECK(p.join_user);
}

TEST_CASE("namespace plan: a new user namespace owns the rest; no mount namespace is allowed") {
  auto p = *ns::plan_namespaces(with({{"user", ""}, {"pid", ""}}));
  CHECK(p.clone_flags == (CLONE_NEWUSER | CLONE_NEWPID));
  CHECK(p.new_user);
  CHECK(!p.has("mount"));
  CHECK(!ns::plan_namespaces(with({{"bogus", ""}})).ok());
}

TEST_CASE("id maps: root writes them, a user its own single id, anything else goes through newuidmap") {
  spec::Linux own;
  own.uid_mappings = {{0, 1000, 1}};
  own.gid_mappings = {{0, 1000, 1}};
  CHECK(ns::choose_map_writer(0, 0, own) == ns::MapWriter::direct);
  CHECK(ns::choose_map_writer(1000, 1000, own) == ns::MapWriter::direct_deny_setgroups);
  CHECK(ns::choose_map_writer(1001, 1000, own) == ns::MapWriter::helpers);  // not the caller's uid
  spec::Linux wide = own;
  wide.uid_mappings.push_back({1, 100000, 65536});
  CHECK(ns::choose_map_writer(1000, 1000, wide) == ns::MapWriter::helpers);
  spec::Linux big = own;
  big.gid_mappings = {{0, 1000, 2}};
  CHECK(ns::choose_map_writer(1000, 1000, big) == ns::MapWriter::helpers);
  auto args = ns::map_helper_args(42, wide.uid_mappings);
  CHECK(args == std::vector<std::string>{"42", "0", "1000", "1", "1", "100000", "65536"});
}

// -- rtnetlink (namespaces/netlink.h) ------------------------------------------------------------

TEST_CASE("the tc redirect is one u32 match-all filter with a mirred egress redirect, as the kernel reads it") {
  auto m = ns::redirect_filter_message(3, 2);
  const std::string& b = m.bytes(7);
  // The message `tc filter add dev <3> parent ffff: protocol all u32 match u8 0 0 action mirred
  // egress redirect dev <2>` sends (iproute2's, seen with strace): 140 bytes, NEWTFILTER, create|excl|ack.
  REQUIRE(b.size() == 140);
  auto u16 = [&](size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(b[at]) | static_cast<unsigned char>(b[at + 1]) << 8);
  };
  auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
  CHECK(u32(0) == 140);
  CHECK(u16(4) == 44);           // RTM_NEWTFILTER
  CHECK(u16(6) == 0x605);        // NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
  CHECK(u32(8) == 7);            // the sequence number
  CHECK(u32(20) == 3);           // tcm_ifindex
  CHECK(u32(28) == 0xffff0000);  // parent: the ingress qdisc
  CHECK(u32(32) == 0x0300);      // protocol ETH_P_ALL in network order, priority 0
  CHECK(b.substr(36, 8) == std::string("\x08\x00\x01\x00u32\x00", 8));
  CHECK(u16(44) == 0x60);  // TCA_OPTIONS, 96 bytes
  CHECK(u16(48) == 0x38);  // TCA_U32_ACT
  CHECK(u16(50) == 7);
  CHECK(b.substr(56, 11) == std::string("\x0b\x00\x01\x00mirred", 10) + '\0');
  CHECK(u16(70) == 0x8002);  // TCA_ACT_OPTIONS, nested
  CHECK(u32(84) == 4);       // TC_ACT_STOLEN
  CHECK(u32(96) == 1);       // TCA_EGRESS_REDIR
  CHECK(u32(100) == 2);      // to ifindex 2
  CHECK(u16(104) == 0x24);   // TCA_U32_SEL: one key masking nothing
  CHECK(u16(106) == 5);
  CHECK(static_cast<unsigned char>(b[108]) == 1);  // TC_U32_TERMINAL
  CHECK(static_cast<unsigned char>(b[110]) == 1);  // nkeys
  CHECK(b.substr(124) == std::string(16, '\0'));   // mask 0, value 0
}

TEST_CASE("MAC and IP text forms") {
  auto mac = ns::parse_mac("AA:bb:0c:dd:ee:ff");
  REQUIRE(mac);
  CHECK(*mac == std::string("\xaa\xbb\x0c\xdd\xee\xff", 6));
  CHECK(ns::format_mac(*mac) == "aa:bb:0c:dd:ee:ff");
  for (const char* bad : {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:f", "aa:bb:cc:dd:ee:fff",
                          "gg:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff"})
    CHECK(!ns::parse_mac(bad));
  auto p = ns::parse_prefix("169.254.1.2/30");
  REQUIRE(p);
  CHECK(p->family == AF_INET);
  CHECK(p->prefix == 30);
  CHECK(ns::format_ip(AF_INET, p->addr) == "169.254.1.2");
  auto v6 = ns::parse_prefix("fd00::1");
  REQUIRE(v6);
  CHECK(v6->prefix == 128);
  CHECK(ns::format_ip(AF_INET6, v6->addr) == "fd00::1");
  for (const char* bad : {"", "1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4/x", "1.2.3/8", "host/8", "1.2.3.4/-1"})
    CHECK(!ns::parse_prefix(bad));
}
