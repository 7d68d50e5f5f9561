// ocelot's entry point: global options (runc's: --root, --log, --log-format, --debug,
// --systemd-cgroup, --rootless, --criu), then one command with its own flags.
#pragma once

namespace ocelot::cli {

int run(int argc, char** argv);

}  // namespace ocelot::cli
