#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "base/unique_fd.h"
#include "runtime/sync.h"

using namespace ocelot;
using runtime::ChildEvent;
using runtime::SyncChannel;

namespace {
struct Pair {
  UniqueFd a, b;
  Pair() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};
}  // namespace

TEST_CASE("sync: each step is a named pair across the socket") {
  Pair p;
  SyncChannel parent(p.a.get()), child(p.b.get());
  REQUIRE(parent.send_go(4242));
  auto pid = child.wait_go();
  REQUIRE(pid);
  CHECK(*pid == 4242);
  REQUIRE(parent.send_cgroup_joined(4243));
  auto joined = child.wait_cgroup_joined();
  REQUIRE(joined.ok());
  CHECK(*joined == 4243);
  REQUIRE(child.send_mounts_ready());
  auto ev = parent.wait_for_child();
  REQUIRE(ev);
  CHECK(ev->kind == ChildEvent::mounts_ready);
  REQUIRE(parent.send_hooks_done());
  CHECK(child.wait_hooks_done().ok());
}

TEST_CASE("sync: an unexpected message is an error naming both") {
  Pair p;
  SyncChannel parent(p.a.get()), child(p.b.get());
  REQUIRE(parent.send_hooks_done());
  auto go = child.wait_go();
  REQUIRE(!go);
  CHECK(go.error().msg == "sync: expected \"go\", got \"hooks-done\"");
}

TEST_CASE("sync: the child's error arrives whole, however long; end-of-stream is `exited`") {
  Pair p;
  SyncChannel parent(p.a.get()), child(p.b.get());
  std::string big(60000, 'x');
  REQUIRE(child.send_error(Error{13, "mount \"/x\": " + big}));
  auto ev = parent.wait_for_child();
  REQUIRE(!ev);
  CHECK(ev.error().code == 13);
  CHECK(ev.error().msg.size() == big.size() + 12);
  p.b.reset();
  auto end = parent.wait_for_child();
  REQUIRE(end);
  CHECK(end->kind == ChildEvent::exited);
}

TEST_CASE("sync: a payload too big for the socket is an error, never a cut message") {
  Pair p;
  SyncChannel child(p.b.get());
  std::string huge(8 << 20, 'y');
  auto st = child.send_error(Error{0, huge});
  CHECK(!st.ok());
}

TEST_CASE("sync: the child waiting for go learns that the parent went away") {
  Pair p;
  SyncChannel child(p.b.get());
  p.a.reset();
  auto go = child.wait_go();
  REQUIRE(!go);
  CHECK(go.error().msg.find("went away") != std::string::npos);
}
