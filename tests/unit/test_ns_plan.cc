#include <doctest/doctest.h>
#include <sched.h>

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
