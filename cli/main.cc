#include <unistd.h>

#include <exception>
#include <string>

#include "cli/app.h"

int main(int argc, char** argv) {
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
