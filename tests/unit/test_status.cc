#include <doctest/doctest.h>

#include "spec/status.h"

using namespace ocelot;
using S = spec::ContainerStatus;
using Op = spec::Operation;

TEST_CASE("status names round-trip") {
  for (auto s : {S::creating, S::created, S::running, S::paused, S::stopped})
    CHECK(spec::parse_status(spec::status_name(s)) == s);
  CHECK(!spec::parse_status("Running"));
}

TEST_CASE("each operation is allowed or refused in runc's words") {
  auto allowed = [](S s, Op op) { return spec::check_operation(s, op, "c1").ok(); };
  auto why = [](S s, Op op) { return spec::check_operation(s, op, "c1").error().msg; };
  CHECK(allowed(S::created, Op::start));
  CHECK(why(S::running, Op::start) == "cannot start an already running container");
  CHECK(why(S::paused, Op::start) == "cannot start a container in the paused state");
  CHECK(why(S::stopped, Op::start) == "cannot start a container that has stopped");
  CHECK(!allowed(S::creating, Op::start));

  CHECK(allowed(S::running, Op::exec));
  CHECK(allowed(S::created, Op::exec));
  CHECK(why(S::stopped, Op::exec) == "cannot exec in a stopped container");
  CHECK(!allowed(S::paused, Op::exec));
  CHECK(spec::check_operation(S::paused, Op::exec, "c1", true).ok());

  CHECK(allowed(S::running, Op::kill));
  CHECK(allowed(S::created, Op::kill));
  CHECK(why(S::stopped, Op::kill) == "container not running");
  CHECK(why(S::creating, Op::kill) == "container not running");
  CHECK(allowed(S::stopped, Op::kill_all));

  CHECK(allowed(S::stopped, Op::remove));
  CHECK(allowed(S::created, Op::remove));
  CHECK(why(S::running, Op::remove) == "cannot delete container c1 that is not stopped: running");
  CHECK(!allowed(S::creating, Op::remove));
  for (auto s : {S::creating, S::created, S::running, S::paused, S::stopped}) CHECK(allowed(s, Op::remove_force));

  CHECK(allowed(S::running, Op::pause));
  CHECK(why(S::paused, Op::pause) == "container already paused");
  CHECK(why(S::stopped, Op::pause) == "container not running");
  CHECK(allowed(S::paused, Op::resume));
  CHECK(why(S::running, Op::resume) == "container not paused");
  CHECK(why(S::stopped, Op::update) == "container not running");
}
