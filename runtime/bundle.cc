#include "runtime/bundle.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "base/fs.h"
#include "namespaces/join.h"
#include "spec/names.h"
#include "spec/parse.h"
#include "spec/validate.h"

namespace ocelot::runtime {

namespace {

std::string abs_path(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  return p;
}

// A sysctl belongs to a namespace the container must have its own copy of: refuse one "joined"
// by a path that is really the host's (runc's check), since the write would change the host.
Status check_sysctl_namespaces(const spec::Linux& l, const ns::NsPlan& plan) {
  for (const auto& [key, value] : l.sysctl) {
    std::string type = OCL_TRY(spec::sysctl_namespace(key));
    for (const auto& j : plan.joins)
      if (j.type == type && ns::same_namespace(j.path, "/proc/self/ns/" + spec::namespace_proc_name(type)))
        return Error::make("linux.sysctl." + key + ": the " + type + " namespace " + quote(j.path) +
                           " is the host's: writing it would change the host");
  }
  return ok();
}

// hostname and domainname are the uts namespace's sysctls (kernel.hostname, kernel.domainname):
// the same rule, so that joining the host's namespace by path cannot rename the host.
Status check_uts_namespace(const spec::Config& c, const ns::NsPlan& plan) {
  if (c.hostname.empty() && c.domainname.empty()) return ok();
  const char* field = c.hostname.empty() ? "domainname" : "hostname";
  for (const auto& j : plan.joins)
    if (j.type == "uts" && ns::same_namespace(j.path, "/proc/self/ns/uts"))
      return Error::make(std::string(field) + ": the uts namespace " + quote(j.path) +
                         " is the host's: setting it would change the host's " + field);
  return ok();
}

// Without a mount namespace of its own the container is only a chroot, and the host's mounts are
// its mounts. runc refuses masked and read-only paths then (they would be the host's); a process
// that may call chroot(2) or mount(2) leaves such a root at will (the double-chroot escape), so
// that is refused too, whatever the config's other settings.
Status check_private_mount_namespace(const spec::Config& c, const ns::NsPlan& plan) {
  if (plan.has("mount")) return ok();
  const spec::Linux& l = *c.linux;
  if (!l.masked_paths.empty() || !l.readonly_paths.empty())
    return Error::make("unable to restrict sys entries without a private MNT namespace");
  if (c.process && c.process->capabilities)
    for (const char* cap : {"CAP_SYS_CHROOT", "CAP_SYS_ADMIN"})
      for (const auto& b : c.process->capabilities->bounding)
        if (b == cap)
          return Error::make(std::string("process.capabilities.bounding: ") + cap +
                             " without a private mount namespace lets the process leave its root "
                             "(chroot is the only wall): add a mount namespace or drop the capability");
  return ok();
}

}  // namespace

Result<Bundle> load_bundle(const std::string& dir, const std::string& preloaded) {
  Bundle b;
  b.dir = abs_path(dir);
  std::string path = fs::join(b.dir, "config.json");
  struct stat st;
  Result<std::string> text = preloaded;
  if (preloaded.empty()) {
    if (::stat(path.c_str(), &st) != 0) return Error::last("load bundle: open " + quote(path));
    if (static_cast<uint64_t>(st.st_size) > spec::kMaxConfigBytes)
      return Error::make("config.json: larger than " + std::to_string(spec::kMaxConfigBytes >> 20) + " MiB (" +
                         std::to_string(st.st_size) + " bytes)");
    text = fs::read_file(path);
    if (!text) return std::move(text).error().wrap("load bundle");
  }
  b.text = *text;
  auto cfg = spec::parse_config(*text, b.config_without_annotations);
  if (!cfg) return std::move(cfg).error().wrap("config.json");
  b.config = std::move(*cfg);
  if (!b.config.process) return Error::make("config.json: process: missing required field");
  if (!b.config.linux) b.config.linux.emplace();
  std::string rootfs = b.config.root->path[0] == '/' ? b.config.root->path : fs::join(b.dir, b.config.root->path);
  if (::stat(rootfs.c_str(), &st) != 0) return Error::last("rootfs " + quote(rootfs));
  if (!S_ISDIR(st.st_mode)) return Error::sys(ENOTDIR, "rootfs " + quote(rootfs));
  b.rootfs = abs_path(rootfs);
  if (b.rootfs == "/") return Error::make("root.path: the host's \"/\" cannot be a container's rootfs");
  b.ns = OCL_TRY(ns::plan_namespaces(*b.config.linux));
  OCL_CHECK(check_sysctl_namespaces(*b.config.linux, b.ns));
  OCL_CHECK(check_uts_namespace(b.config, b.ns));
  OCL_CHECK(check_private_mount_namespace(b.config, b.ns));
  return b;
}

}  // namespace ocelot::runtime
