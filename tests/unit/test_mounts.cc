#include <doctest/doctest.h>
#include <linux/mount.h>

#include <sys/mount.h>
#include <algorithm>

#include "base/fs.h"
#include "base/mountinfo.h"
#include "namespaces/mount_options.h"
#include "namespaces/rootfs.h"
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

TEST_CASE("mountinfo: the mount holding a path, its propagation, escapes and stacked mounts") {
  const char* text =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "30 22 0:40 / /var/lib rw shared:5 master:2 - tmpfs tmpfs rw\n"
      "31 30 0:41 / /var/lib/c\\040d rw - overlay overlay rw\n"
      "32 22 0:42 / /var/lib2 rw - tmpfs tmpfs rw\n"
      "33 30 0:43 / /var/lib rw - tmpfs tmpfs rw\n"
      "garbage\n";
  auto m = parse_mountinfo(text);
  REQUIRE(m.size() == 5);
  CHECK(m[0].shared());
  CHECK(m[1].optional == "shared:5 master:2");
  CHECK(m[2].mount_point == "/var/lib/c d");
  CHECK_FALSE(m[2].shared());
  CHECK(mount_holding(m, "/var/lib/c d/rootfs")->mount_point == "/var/lib/c d");
  CHECK(mount_holding(m, "/var/lib2/x")->mount_point == "/var/lib2");
  CHECK(mount_holding(m, "/srv")->mount_point == "/");
  // Two mounts on /var/lib: the one listed last is on top (private here).
  CHECK_FALSE(mount_holding(m, "/var/lib/x")->shared());
  CHECK_FALSE(mount_holding(m, "relative").has_value());
}

TEST_CASE("rootfs propagation: shared keeps the host's peer groups, anything else starts as a slave") {
  spec::Config c;
  CHECK(ns::initial_root_propagation(c) == (MS_SLAVE | MS_REC));
  c.linux.emplace();
  for (auto [prop, want] : std::vector<std::pair<std::string, unsigned long>>{{"", MS_SLAVE | MS_REC},
                                                                              {"slave", MS_SLAVE | MS_REC},
                                                                              {"rslave", MS_SLAVE | MS_REC},
                                                                              {"shared", MS_SHARED | MS_REC},
                                                                              {"rshared", MS_SHARED | MS_REC},
                                                                              {"private", MS_PRIVATE | MS_REC},
                                                                              {"rprivate", MS_PRIVATE | MS_REC},
                                                                              {"unbindable", MS_SLAVE | MS_REC}}) {
    c.linux->rootfs_propagation = prop;
    CHECK(ns::initial_root_propagation(c) == want);
  }
}
