#include <fcntl.h>
#include <unistd.h>

#include "base/fs.h"
#include "cli/commands.h"
#include "spec/default_spec.h"

namespace ocelot::cli {

OCELOT_COMMAND(cmd_spec) {
  (void)ctx;
  if (!f.args.empty()) return Error::make("spec: takes no arguments");
  std::string bundle = f.get("bundle", ".");
  std::string path = fs::join(bundle, "config.json");
  if (fs::exists(path)) return Error::sys(EEXIST, "spec: \"" + path + "\" exists; remove it first");
  OCL_CHECK_CTX(fs::write_file(path, spec::default_spec_json(f.on("rootless"), ::geteuid(), ::getegid()), 0666),
                "spec");
  return 0;
}

}  // namespace ocelot::cli
