#include "cli/app.h"

int main(int argc, char** argv) { return ocelot::cli::run(argc, argv); }
