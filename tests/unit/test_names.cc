#include <doctest/doctest.h>
#include <sched.h>
#include <signal.h>

#include "spec/names.h"
#include "spec/state.h"

using namespace ocelot;

TEST_CASE("signals parse as runc parses them") {
  CHECK(*spec::parse_signal("9") == 9);
  CHECK(*spec::parse_signal("KILL") == SIGKILL);
  CHECK(*spec::parse_signal("SIGKILL") == SIGKILL);
  CHECK(*spec::parse_signal("term") == SIGTERM);
  CHECK(*spec::parse_signal("sigusr1") == SIGUSR1);
  CHECK(*spec::parse_signal("SIGRTMIN") == SIGRTMIN);
  CHECK(*spec::parse_signal("RTMIN+3") == SIGRTMIN + 3);
  CHECK(*spec::parse_signal("SIGRTMAX-1") == SIGRTMAX - 1);
  for (const char* bad : {"", "0", "-1", "65", "SIGFOO", "KILLX", "SIGRTMIN+99", "SIGRTMIN-1", "9x"}) {
    CAPTURE(bad);
    auto r = spec::parse_signal(bad);
    REQUIRE(!r.ok());
    CHECK(r.error().msg == "unknown signal \"" + std::string(bad) + "\"");
  }
  CHECK(spec::signal_name(SIGTERM) == "SIGTERM");
}

TEST_CASE("capability and rlimit names") {
  CHECK(*spec::capability_number("CAP_CHOWN") == 0);
  CHECK(*spec::capability_number("CAP_SYS_ADMIN") == 21);
  CHECK(*spec::capability_number("CAP_CHECKPOINT_RESTORE") == 40);
  CHECK(!spec::capability_number("SYS_ADMIN"));
  CHECK(spec::all_capability_names().size() == 41);
  CHECK(spec::rlimit_number("RLIMIT_NOFILE").has_value());
  CHECK(!spec::rlimit_number("NOFILE"));
  CHECK(*spec::namespace_flag("network") == CLONE_NEWNET);
  CHECK(spec::namespace_proc_name("mount") == "mnt");
}

TEST_CASE("state JSON is runc's, field for field") {
  spec::State s{};
  s.id = "web";
  s.status = spec::ContainerStatus::running;
  s.pid = 42;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2026-01-02T03:04:05.5Z";
  s.owner = "root";
  CHECK(
      spec::state_to_compact_json(s) ==
      R"({"ociVersion":"1.2.0","id":"web","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-01-02T03:04:05.5Z","owner":"root"})");
  CHECK(spec::state_to_hook_json(s) ==
        R"({"ociVersion":"1.2.0","id":"web","status":"running","pid":42,"bundle":"/b"})");
  s.annotations["a"] = "b";
  CHECK(spec::state_to_cli_json(s).find("\"annotations\": {\n    \"a\": \"b\"\n  }") != std::string::npos);
  CHECK(spec::rfc3339_nano(0, 0) == "1970-01-01T00:00:00Z");
  CHECK(spec::rfc3339_nano(1, 120000000) == "1970-01-01T00:00:01.12Z");
  CHECK(spec::rfc3339_nano(1, 1) == "1970-01-01T00:00:01.000000001Z");
}
