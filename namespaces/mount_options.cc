#include "namespaces/mount_options.h"

#include <linux/mount.h>
#include <sys/mount.h>

#include <algorithm>
#include <map>

namespace ocelot::ns {

namespace {
struct Flag {
  bool clear;
  unsigned long flag;
};
const std::map<std::string, Flag>& flag_table() {
  static const std::map<std::string, Flag> t = {{"async", {true, MS_SYNCHRONOUS}},
                                                {"atime", {true, MS_NOATIME}},
                                                {"bind", {false, MS_BIND}},
                                                {"defaults", {false, 0}},
                                                {"dev", {true, MS_NODEV}},
                                                {"diratime", {true, MS_NODIRATIME}},
                                                {"dirsync", {false, MS_DIRSYNC}},
                                                {"exec", {true, MS_NOEXEC}},
                                                {"iversion", {false, MS_I_VERSION}},
                                                {"lazytime", {false, MS_LAZYTIME}},
                                                {"loud", {true, MS_SILENT}},
                                                {"mand", {false, MS_MANDLOCK}},
                                                {"noatime", {false, MS_NOATIME}},
                                                {"nodev", {false, MS_NODEV}},
                                                {"nodiratime", {false, MS_NODIRATIME}},
                                                {"noexec", {false, MS_NOEXEC}},
                                                {"noiversion", {true, MS_I_VERSION}},
                                                {"nolazytime", {true, MS_LAZYTIME}},
                                                {"nomand", {true, MS_MANDLOCK}},
                                                {"norelatime", {true, MS_RELATIME}},
                                                {"nostrictatime", {true, MS_STRICTATIME}},
                                                {"nosuid", {false, MS_NOSUID}},
                                                {"rbind", {false, MS_BIND | MS_REC}},
                                                {"relatime", {false, MS_RELATIME}},
                                                {"remount", {false, MS_REMOUNT}},
                                                {"ro", {false, MS_RDONLY}},
                                                {"rw", {true, MS_RDONLY}},
                                                {"silent", {false, MS_SILENT}},
                                                {"strictatime", {false, MS_STRICTATIME}},
                                                {"suid", {true, MS_NOSUID}},
                                                {"sync", {false, MS_SYNCHRONOUS}},
                                                {"nosymfollow", {false, MS_NOSYMFOLLOW}},
                                                {"symfollow", {true, MS_NOSYMFOLLOW}}};
  return t;
}
const std::map<std::string, unsigned long>& propagation_table() {
  static const std::map<std::string, unsigned long> t = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};
  return t;
}
struct Attr {
  bool clear;
  uint64_t attr;
};
const std::map<std::string, Attr>& attr_table() {
  static const std::map<std::string, Attr> t = {{"rro", {false, MOUNT_ATTR_RDONLY}},
                                                {"rrw", {true, MOUNT_ATTR_RDONLY}},
                                                {"rnosuid", {false, MOUNT_ATTR_NOSUID}},
                                                {"rsuid", {true, MOUNT_ATTR_NOSUID}},
                                                {"rnodev", {false, MOUNT_ATTR_NODEV}},
                                                {"rdev", {true, MOUNT_ATTR_NODEV}},
                                                {"rnoexec", {false, MOUNT_ATTR_NOEXEC}},
                                                {"rexec", {true, MOUNT_ATTR_NOEXEC}},
                                                {"rnodiratime", {false, MOUNT_ATTR_NODIRATIME}},
                                                {"rdiratime", {true, MOUNT_ATTR_NODIRATIME}},
                                                {"rrelatime", {false, MOUNT_ATTR_RELATIME}},
                                                {"rnorelatime", {true, MOUNT_ATTR_RELATIME}},
                                                {"rnoatime", {false, MOUNT_ATTR_NOATIME}},
                                                {"ratime", {true, MOUNT_ATTR_NOATIME}},
                                                {"rstrictatime", {false, MOUNT_ATTR_STRICTATIME}},
                                                {"rnostrictatime", {true, MOUNT_ATTR_STRICTATIME}},
                                                {"rnosymfollow", {false, MOUNT_ATTR_NOSYMFOLLOW}},
                                                {"rsymfollow", {true, MOUNT_ATTR_NOSYMFOLLOW}}};
  return t;
}
}  // namespace

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options) {
  MountOptions o;
  for (const auto& opt : options) {
    if (auto it = flag_table().find(opt); it != flag_table().end()) {
      if (it->second.clear) {
        o.flags &= ~it->second.flag;
        o.clear |= it->second.flag;
      } else {
        o.flags |= it->second.flag;
        o.clear &= ~it->second.flag;
      }
      if (opt == "bind") o.bind = true;
      if (opt == "rbind") o.bind = o.recursive_bind = true;
    } else if (auto p = propagation_table().find(opt); p != propagation_table().end()) {
      o.propagation = p->second;
    } else if (auto a = attr_table().find(opt); a != attr_table().end()) {
      if (a->second.clear) {
        o.attr_clr |= a->second.attr;
        o.attr_set &= ~a->second.attr;
      } else {
        o.attr_set |= a->second.attr;
        o.attr_clr &= ~a->second.attr;
      }
    } else if (opt == "tmpcopyup") {
      o.tmpcopyup = true;
    } else if (opt == "idmap" || opt == "ridmap") {
      o.idmap = true;
    } else {
      if (!o.data.empty()) o.data += ",";
      o.data += opt;
    }
  }
  return o;
}

bool is_bind_mount(const spec::Mount& m, const MountOptions& o) { return o.bind || m.type == "bind"; }

std::vector<std::string> known_mount_options() {
  std::vector<std::string> v;
  for (auto& [k, _] : flag_table()) v.push_back(k);
  for (auto& [k, _] : propagation_table()) v.push_back(k);
  for (auto& [k, _] : attr_table()) v.push_back(k);
  v.push_back("tmpcopyup");
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace ocelot::ns
