// What `ocelot compare` found, per isolation mode, and its renderings: a plain table, markdown,
// JSON (schema "ocelot-compare/1", docs/compare.md) and an SVG bar chart. Pure: no processes, no
// files (unit-tested); compare/measure.h fills it in.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compare/stats.h"

namespace ocelot::compare {

struct ModeResult {
  std::string name;     // "container", "vm", "runc", "crun"
  std::string command;  // how it was run, e.g. "ocelot --isolation=vm run"
  // Performance. Distributions over the runs; ms unless the name says otherwise.
  Dist run_ms;                                       // the bundle's own process: launch of `run` to its exit
  Dist first_instruction_ms;                         // launch of `run` to the probe's main(): the start cost alone
  std::vector<std::pair<std::string, Dist>> stages;  // ocelot's --debug steps: time since the step before
  std::map<std::string, Dist>
      probe;                   // syscall_ns, tmpfs_write_mbs, ..., fork_exec_per_s, cpu_mops, net_rtt_us, net_mbs
  std::string rootfs_io_note;  // why rootfs I/O was not measured ("" when it was)
  std::string network_note;    // why the network was not measured ("" when it was)
  double idle_pss_mib = -1;    // host memory (PSS) of one idle instance: its processes on the host
  int exit_code = -1;          // of the bundle's process (the last run)
  // Virtualization and compatibility.
  std::string kernel_release, kernel_version, machine;
  bool own_kernel = false;  // a guest kernel, not the host's
  std::string accelerator;  // "KVM", "TCG", "" (no VM)
  std::string vm_start;     // "template", "cold boot", "" (no VM)
  // Isolation.
  std::vector<std::string> namespaces;
  std::string cgroup;         // where the limits apply
  std::string host_syscalls;  // how many host syscalls the workload can reach, and why
  std::string devices;        // what is exposed
};

struct Report {
  std::string bundle;
  int runs = 0;
  std::string host_kernel, host_machine;
  std::vector<ModeResult> modes;
};

std::string render_table(const Report& r, bool markdown);
std::string render_json(const Report& r);
std::string render_svg(const Report& r);

// The metrics in the chart and the performance rows: key, label, unit, and whether more is better.
struct Metric {
  const char* key;
  const char* label;
  const char* unit;
  bool higher_is_better;
};
const std::vector<Metric>& metrics();
// The median of a metric for a mode, or a negative number when it was not measured.
double metric_median(const ModeResult& m, const std::string& key);

}  // namespace ocelot::compare
