#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "compare/report.h"
#include "compare/stats.h"

using namespace ocelot;
using nlohmann::json;

TEST_CASE("distribution: median of odd and even counts, p95 by nearest rank") {
  auto d = compare::distribution({5, 1, 3});
  CHECK(d.n == 3);
  CHECK(d.min == 1);
  CHECK(d.median == 3);
  CHECK(d.p95 == 5);
  d = compare::distribution({4, 1, 3, 2});
  CHECK(d.median == 2.5);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  CHECK(compare::distribution(v).p95 == 95);
  CHECK(compare::distribution({}).empty());
}

static compare::Report sample() {
  compare::Report r;
  r.bundle = "/b";
  r.runs = 2;
  r.host_kernel = "6.18";
  r.host_machine = "x86_64";
  compare::ModeResult c, v;
  c.name = "container";
  c.run_ms = compare::distribution({10, 12});
  c.probe["syscall_ns"] = compare::distribution({100, 110});
  c.idle_pss_mib = 0.5;
  c.kernel_release = "6.18";
  c.rootfs_io_note = "read-only";
  c.network_note = "no CAP_NET_ADMIN";
  v.name = "vm";
  v.own_kernel = true;
  v.accelerator = "TCG";
  v.vm_start = "from a template";
  v.run_ms = compare::distribution({500, 600});
  v.idle_pss_mib = 90;
  v.kernel_release = "6.1";
  v.stages = {{"VMM forked", compare::distribution({2, 3})}};
  r.modes = {c, v};
  return r;
}

TEST_CASE("compare JSON: the documented schema, null for what was not measured") {
  json j = json::parse(compare::render_json(sample()));
  CHECK(j["schema"] == "ocelot-compare/1");
  REQUIRE(j["modes"].size() == 2);
  const auto& c = j["modes"][0];
  CHECK(c["performance"]["run_ms"]["median"] == 11);
  CHECK(c["performance"]["first_instruction_ms"].is_null());
  CHECK(c["performance"]["rootfs_write_mbs"].is_null());
  CHECK(c["performance"]["rootfs_io_note"] == "read-only");
  CHECK(c["performance"]["network_note"] == "no CAP_NET_ADMIN");
  CHECK(c["performance"]["net_rtt_us"].is_null());
  CHECK(c["performance"]["cpu_mops"].is_null());
  CHECK(c["isolation"]["shares_host_kernel"] == true);
  CHECK(c["virtualization"]["level"] == "os");
  const auto& v = j["modes"][1];
  CHECK(v["virtualization"]["accelerator"] == "TCG");
  CHECK(v["virtualization"]["level"] == "hardware");
  CHECK(v["performance"]["stages_ms"][0]["step"] == "VMM forked");
  CHECK(v["performance"]["idle_host_pss_mib"] == 90);
}

TEST_CASE("compare table and chart: four sections; one bar per measured metric and mode") {
  auto r = sample();
  std::string t = compare::render_table(r, false);
  for (const char* s : {"\nVirtualization\n", "\nIsolation\n", "\nPerformance", "\nCompatibility\n"})
    CHECK(t.find(s) != std::string::npos);
  CHECK(t.find("TCG: software emulation, not KVM") != std::string::npos);
  CHECK(t.find("not measured: read-only") != std::string::npos);
  CHECK(t.find("TCP round trip to the host side of a veth, us    not measured: no CAP_NET_ADMIN") != std::string::npos);
  std::string md = compare::render_table(r, true);
  CHECK(md.find("| **Isolation** |") != std::string::npos);
  std::string svg = compare::render_svg(r);
  size_t bars = 0;
  for (size_t p = 0; (p = svg.find("class=\"bar\"", p)) != std::string::npos; ++p) ++bars;
  CHECK(bars == 3 * 2);  // run_ms, idle memory, syscall_ns: measured in at least one mode
  CHECK(svg.find("data-metric=\"run_ms\" data-mode=\"vm\" x=\"10\" y=\"") != std::string::npos);
  // The largest value of a metric gets the full width.
  CHECK(svg.find("width=\"680\" height=\"16\" fill=\"#c05621\"><title>vm: 550 ms</title>") != std::string::npos);
}
