#include <unistd.h>

#include <exception>
#include <string>

#include "base/failpoint.h"
#include "cli/app.h"
#include "runtime/inherited_fds.h"
#include "runtime/safe_exe.h"

int main(int argc, char** argv) {
  // Before anything opens a file: which fds the caller passed us (--preserve-fds, LISTEN_FDS).
  ocelot::runtime::record_inherited_fds();
  ocelot::runtime::remember_argv(argc, argv);
  ocelot::failpoint_init();  // read once here: the processes we clone only compare
  try {
    return ocelot::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::string m = std::string("ocelot: internal error: ") + e.what() + "\n";
    (void)!::write(2, m.data(), m.size());
  } catch (...) {
    (void)!::write(2, "ocelot: internal error\n", 23);
  }
  return 1;
}
