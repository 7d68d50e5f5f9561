#include <doctest/doctest.h>
#include <linux/mount.h>

#include <sys/mount.h>
#include <algorithm>

#include "base/fs.h"
#include "namespaces/mount_options.h"
#include "namespaces/user_ns.h"

using namespace ocelot;

TEST_CASE("mount options split into flags, propagation, recursive attributes and data") {
  auto o = *ns::parse_mount_options({"nosuid", "noexec", "nodev", "ro", "mode=755", "size=65536k"});
  CHECK(o.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  CHECK(o.data == "mode=755,size=65536k");
  CHECK(!o.bind);
  auto b = *ns::parse_mount_options({"rbind", "rw", "rprivate", "rro", "rnosuid"});
  CHECK(b.bind);
  CHECK(b.recursive_bind);
  CHECK((b.flags & (MS_BIND | MS_REC)) == (MS_BIND | MS_REC));
  CHECK(b.clear == MS_RDONLY);
  CHECK(b.propagation == (MS_PRIVATE | MS_REC));
  CHECK(b.attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
  auto later = *ns::parse_mount_options({"ro", "rw"});
  CHECK((later.flags & MS_RDONLY) == 0);
  auto special = *ns::parse_mount_options({"tmpcopyup", "idmap"});
  CHECK(special.tmpcopyup);
  CHECK(special.idmap);
  spec::Mount m;
  m.type = "bind";
  CHECK(ns::is_bind_mount(m, *ns::parse_mount_options({})));
  auto known = ns::known_mount_options();
  CHECK(std::find(known.begin(), known.end(), "rslave") != known.end());
}

TEST_CASE("id maps render as /proc/PID/uid_map lines") {
  CHECK(ns::id_map_text({{0, 100000, 65536}, {65536, 1000, 1}}) == "0 100000 65536\n65536 1000 1\n");
}

TEST_CASE("paths are cleaned lexically and never climb above /") {
  CHECK(fs::clean_abs("/a/../../b//c/.") == "/b/c");
  CHECK(fs::clean_abs("..") == "/");
  CHECK(fs::clean_abs("dev/pts") == "/dev/pts");
  CHECK(fs::join("/a/", "/b") == "/a/b");
  CHECK(fs::dirname("/a/b") == "/a");
  CHECK(fs::dirname("/a") == "/");
  CHECK(fs::basename("/a/b") == "b");
}
