// `ocelot compare`: runs one bundle as a container, as a VM and (optionally) under runc or crun,
// and measures each: the bundle's own process N times, the compare probe N times (the workload's
// costs inside), one idle instance's host memory. Each run is fresh, through this very binary's
// `run` (what a user runs), and cleaned up after.
//
// The probe (ocelot-compare-probe, beside the ocelot binary) is bind-mounted read-only at
// /.ocelot-compare/bin with a tmpfs at /.ocelot-compare/tmp; those two mount points are made in
// the rootfs for the comparison and removed after it (with the probe's rootfs I/O file).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "compare/report.h"

namespace ocelot::compare {

struct Options {
  std::string bundle;
  int runs = 3;
  std::vector<std::string> with;  // other runtimes: "runc", "crun"
  bool vm_template = true;        // VM mode starts from a template (else cold boots)
  int timeout_s = 120;            // per run of the bundle's process
  std::function<void(int done, int total)> progress;
};

Result<Report> run_compare(const Options& o);

}  // namespace ocelot::compare
