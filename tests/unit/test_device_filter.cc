#include <doctest/doctest.h>

#include "cgroups/device_filter.h"

using namespace ocelot;

static spec::DeviceCgroup rule(bool allow, const char* type, std::optional<int64_t> maj, std::optional<int64_t> min,
                               const char* acc) {
  spec::DeviceCgroup d;
  d.allow = allow;
  d.type = type;
  d.major = maj;
  d.minor = min;
  d.access = acc;
  return d;
}

TEST_CASE("device filter: the default spec's rules allow the default devices and nothing else") {
  // `ocelot spec`: deny everything; ocelot adds the default devices after (runc's list).
  auto prog = cgroups::compile_device_filter(cgroups::effective_device_rules({rule(false, "", {}, {}, "rwm")}, {}));
  auto run = [&](char t, uint32_t maj, uint32_t min, const char* acc) {
    return cgroups::interpret_device_filter(prog, t, maj, min, acc);
  };
  CHECK(run('c', 1, 3, "rw") == 1);    // /dev/null
  CHECK(run('c', 1, 9, "r") == 1);     // /dev/urandom
  CHECK(run('c', 5, 2, "rw") == 1);    // /dev/ptmx
  CHECK(run('c', 136, 7, "rw") == 1);  // a pty
  CHECK(run('c', 1, 1, "r") == 0);     // /dev/mem
  CHECK(run('c', 1, 11, "w") == 0);    // /dev/kmsg
  CHECK(run('b', 8, 0, "r") == 0);     // a disk
  CHECK(run('c', 1, 1, "m") == 1);     // mknod of any char device is allowed (runc's default), opening it is not
  CHECK(run('b', 8, 0, "m") == 1);
}

TEST_CASE("device filter: the last matching rule wins, per access") {
  std::vector<spec::DeviceCgroup> rules = {rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 1, "rw"),
                                           rule(false, "c", 1, 1, "w")};
  auto prog = cgroups::compile_device_filter(rules);
  auto run = [&](char t, uint32_t maj, uint32_t min, const char* acc) {
    return cgroups::interpret_device_filter(prog, t, maj, min, acc);
  };
  CHECK(run('c', 1, 1, "r") == 1);
  CHECK(run('c', 1, 1, "w") == 0);
  CHECK(run('c', 1, 1, "rw") == 0);  // any denied bit denies
  CHECK(run('c', 1, 2, "r") == 0);
  // Allow everything, then take one back.
  auto open = cgroups::compile_device_filter({rule(true, "a", {}, {}, "rwm"), rule(false, "b", 8, {}, "rw")});
  CHECK(cgroups::interpret_device_filter(open, 'b', 8, 3, "r") == 0);
  CHECK(cgroups::interpret_device_filter(open, 'b', 9, 3, "r") == 1);
  CHECK(cgroups::interpret_device_filter(open, 'c', 8, 3, "r") == 1);
  // An allow rule must cover every requested bit.
  auto ro = cgroups::compile_device_filter({rule(true, "c", 10, 200, "r")});
  CHECK(cgroups::interpret_device_filter(ro, 'c', 10, 200, "r") == 1);
  CHECK(cgroups::interpret_device_filter(ro, 'c', 10, 200, "rw") == 0);
  // Large device numbers compare as 32-bit values.
  auto big = cgroups::compile_device_filter({rule(true, "c", 4000000000LL, 7, "rwm")});
  CHECK(cgroups::interpret_device_filter(big, 'c', 4000000000U, 7, "r") == 1);
  CHECK(cgroups::interpret_device_filter(big, 'c', 4000000001U, 7, "r") == 0);
  // No rules: nothing allowed.
  CHECK(cgroups::interpret_device_filter(cgroups::compile_device_filter({}), 'c', 1, 3, "r") == 0);
}
