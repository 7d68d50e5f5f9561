#include "compare/report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace ocelot::compare {

using nlohmann::json;

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> m = {
      {"run_ms", "run to exit (the bundle's process)", "ms", false},
      {"first_instruction_ms", "launch to the workload's first instruction", "ms", false},
      {"idle_pss_mib", "host memory of one idle instance (PSS)", "MiB", false},
      {"syscall_ns", "syscall round trip (getppid)", "ns", false},
      {"tmpfs_write_mbs", "tmpfs write", "MB/s", true},
      {"tmpfs_read_mbs", "tmpfs read", "MB/s", true},
      {"rootfs_write_mbs", "rootfs write (fsync'ed)", "MB/s", true},
      {"rootfs_read_mbs", "rootfs read", "MB/s", true},
      {"fork_exec_per_s", "process creation (fork+exec+wait)", "per s", true},
      {"cpu_mops", "CPU-bound loop (xorshift steps)", "M/s", true},
      {"net_rtt_us", "TCP round trip to the host side of a veth", "us", false},
      {"net_mbs", "TCP throughput to the host side of a veth", "MB/s", true},
  };
  return m;
}

static const Dist* dist_of(const ModeResult& m, const std::string& key) {
  if (key == "run_ms") return &m.run_ms;
  if (key == "first_instruction_ms") return &m.first_instruction_ms;
  auto it = m.probe.find(key);
  return it == m.probe.end() ? nullptr : &it->second;
}

double metric_median(const ModeResult& m, const std::string& key) {
  if (key == "idle_pss_mib") return m.idle_pss_mib;
  const Dist* d = dist_of(m, key);
  return d && !d->empty() ? d->median : -1;
}

namespace {

std::string num(double v) {
  char b[32];
  if (v >= 100)
    std::snprintf(b, sizeof b, "%.0f", v);
  else if (v >= 10)
    std::snprintf(b, sizeof b, "%.1f", v);
  else
    std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

std::string dist_text(const Dist& d) {
  if (d.empty()) return "-";
  if (d.n == 1) return num(d.median);
  return num(d.median) + " (min " + num(d.min) + ", p95 " + num(d.p95) + ")";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string o;
  for (const auto& s : v) o += (o.empty() ? "" : sep) + s;
  return o;
}

std::string level(const ModeResult& m) {
  return m.own_kernel ? "hardware level (a guest kernel in QEMU)" : "OS level (the host's kernel)";
}

std::string accel(const ModeResult& m) {
  if (m.accelerator.empty()) return "none (native)";
  if (m.accelerator == "TCG") return "TCG: software emulation, not KVM";
  return m.accelerator + " (hardware virtualization)";
}

struct Row {
  std::string label;
  std::vector<std::string> cells;
};
struct Section {
  std::string title;
  std::vector<Row> rows;
};

std::vector<Section> sections(const Report& r) {
  auto row = [&](std::string label, auto&& f) {
    Row x{std::move(label), {}};
    for (const auto& m : r.modes) x.cells.push_back(f(m));
    return x;
  };
  std::vector<Section> s;
  s.push_back(
      {"Virtualization",
       {
           row("isolation level", level),
           row("accelerator", accel),
           row("VM start", [](const ModeResult& m) { return m.vm_start.empty() ? std::string("-") : m.vm_start; }),
       }});
  s.push_back({"Isolation",
               {
                   row("kernel shared with the host",
                       [](const ModeResult& m) { return std::string(m.own_kernel ? "no" : "yes"); }),
                   row("namespaces",
                       [](const ModeResult& m) {
                         return m.namespaces.empty()
                                    ? std::string("none")
                                    : join(m.namespaces, ", ") + (m.own_kernel ? " (in the guest)" : "");
                       }),
                   row("cgroup", [](const ModeResult& m) { return m.cgroup; }),
                   row("host syscalls the workload can reach", [](const ModeResult& m) { return m.host_syscalls; }),
                   row("devices exposed", [](const ModeResult& m) { return m.devices; }),
               }});
  Section perf{"Performance (median, min, p95 over " + std::to_string(r.runs) + " runs)", {}};
  for (const auto& mt : metrics()) {
    perf.rows.push_back(row(std::string(mt.label) + ", " + mt.unit, [&](const ModeResult& m) {
      if (std::string(mt.key) == "idle_pss_mib") return m.idle_pss_mib < 0 ? std::string("-") : num(m.idle_pss_mib);
      const Dist* d = dist_of(m, mt.key);
      if ((!d || d->empty()) && std::string(mt.key).rfind("rootfs_", 0) == 0 && !m.rootfs_io_note.empty())
        return "not measured: " + m.rootfs_io_note;
      if ((!d || d->empty()) && std::string(mt.key).rfind("net_", 0) == 0 && !m.network_note.empty())
        return "not measured: " + m.network_note;
      return d ? dist_text(*d) : std::string("-");
    }));
  }
  perf.rows.push_back(
      row("exit code of the bundle's process", [](const ModeResult& m) { return std::to_string(m.exit_code); }));
  s.push_back(perf);
  s.push_back({"Compatibility",
               {
                   row("kernel the workload sees",
                       [&](const ModeResult& m) { return m.kernel_release + (m.own_kernel ? " (guest)" : " (host)"); }),
                   row("kernel version", [](const ModeResult& m) { return m.kernel_version; }),
                   row("machine", [](const ModeResult& m) { return m.machine; }),
                   row("userland", [](const ModeResult&) { return std::string("the bundle's rootfs"); }),
               }});
  return s;
}

std::string stages_text(const Report& r) {
  std::string o;
  for (const auto& m : r.modes) {
    if (m.stages.empty()) continue;
    o += "  " + m.name + ":";
    for (const auto& [step, d] : m.stages) o += " " + step + " +" + num(d.median);
    o += "\n";
  }
  return o;
}

}  // namespace

std::string render_table(const Report& r, bool markdown) {
  auto secs = sections(r);
  std::string o;
  if (markdown) {
    o += "Comparison of `" + r.bundle + "` on " + r.host_kernel + " (" + r.host_machine + ")\n\n| |";
    for (const auto& m : r.modes) o += " " + m.name + " |";
    o += "\n|---|";
    for (size_t i = 0; i < r.modes.size(); ++i) o += "---|";
    o += "\n";
    for (const auto& s : secs) {
      o += "| **" + s.title + "** |";
      for (size_t i = 0; i < r.modes.size(); ++i) o += " |";
      o += "\n";
      for (const auto& row : s.rows) {
        o += "| " + row.label + " |";
        for (const auto& c : row.cells) o += " " + c + " |";
        o += "\n";
      }
    }
    std::string st = stages_text(r);
    if (!st.empty()) o += "\nStages (median ms since the step before):\n\n```\n" + st + "```\n";
    return o;
  }
  size_t w0 = 0;
  std::vector<size_t> w(r.modes.size(), 0);
  for (size_t i = 0; i < r.modes.size(); ++i) w[i] = r.modes[i].name.size();
  for (const auto& s : secs)
    for (const auto& row : s.rows) {
      w0 = std::max(w0, row.label.size() + 2);
      for (size_t i = 0; i < row.cells.size(); ++i) w[i] = std::max(w[i], row.cells[i].size());
    }
  auto pad = [](std::string s, size_t n) { return s + std::string(n > s.size() ? n - s.size() : 0, ' '); };
  o += "ocelot compare " + r.bundle + " (" + std::to_string(r.runs) + " runs per mode; host kernel " + r.host_kernel +
       ")\n\n";
  o += pad("", w0);
  for (size_t i = 0; i < r.modes.size(); ++i) o += "  " + pad(r.modes[i].name, w[i]);
  o += "\n";
  for (const auto& s : secs) {
    o += s.title + "\n";
    for (const auto& row : s.rows) {
      std::string line = pad("  " + row.label, w0);
      for (size_t i = 0; i < row.cells.size(); ++i) line += "  " + pad(row.cells[i], w[i]);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      o += line + "\n";
    }
  }
  std::string st = stages_text(r);
  if (!st.empty()) o += "Stages (median ms since the step before)\n" + st;
  return o;
}

static json dist_json(const Dist& d) {
  if (d.empty()) return nullptr;
  return {{"n", d.n}, {"min", d.min}, {"median", d.median}, {"p95", d.p95}};
}

std::string render_json(const Report& r) {
  json j;
  j["schema"] = "ocelot-compare/1";
  j["bundle"] = r.bundle;
  j["runs"] = r.runs;
  j["host"] = {{"kernel_release", r.host_kernel}, {"machine", r.host_machine}};
  j["modes"] = json::array();
  for (const auto& m : r.modes) {
    json perf;
    perf["run_ms"] = dist_json(m.run_ms);
    perf["first_instruction_ms"] = dist_json(m.first_instruction_ms);
    perf["idle_host_pss_mib"] = m.idle_pss_mib < 0 ? json(nullptr) : json(m.idle_pss_mib);
    for (const auto& mt : metrics()) {
      std::string k = mt.key;
      if (k == "run_ms" || k == "first_instruction_ms" || k == "idle_pss_mib") continue;
      auto it = m.probe.find(k);
      perf[k] = it == m.probe.end() ? json(nullptr) : dist_json(it->second);
    }
    perf["rootfs_io_note"] = m.rootfs_io_note;
    perf["network_note"] = m.network_note;
    perf["stages_ms"] = json::array();
    for (const auto& [step, d] : m.stages) perf["stages_ms"].push_back({{"step", step}, {"ms", dist_json(d)}});
    j["modes"].push_back({
        {"name", m.name},
        {"command", m.command},
        {"exit_code", m.exit_code},
        {"virtualization",
         {{"level", m.own_kernel ? "hardware" : "os"}, {"accelerator", m.accelerator}, {"vm_start", m.vm_start}}},
        {"isolation",
         {{"shares_host_kernel", !m.own_kernel},
          {"namespaces", m.namespaces},
          {"cgroup", m.cgroup},
          {"host_syscalls", m.host_syscalls},
          {"devices", m.devices}}},
        {"performance", perf},
        {"compatibility",
         {{"kernel_release", m.kernel_release}, {"kernel_version", m.kernel_version}, {"machine", m.machine}}},
    });
  }
  return j.dump(2) + "\n";
}

static std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string render_svg(const Report& r) {
  static const char* colors[] = {"#2b6cb0", "#c05621", "#2f855a", "#6b46c1"};
  // Each metric: its label on a line, then one bar per mode under it.
  const int left = 10, bar_w = 680, bar_h = 16, gap = 4, label_h = 18, group_gap = 16, top = 60;
  std::vector<const Metric*> shown;
  for (const auto& mt : metrics())
    for (const auto& m : r.modes)
      if (metric_median(m, mt.key) >= 0) {
        shown.push_back(&mt);
        break;
      }
  int group_h = label_h + static_cast<int>(r.modes.size()) * (bar_h + gap) + group_gap;
  int height = top + static_cast<int>(shown.size()) * group_h + 10;
  int width = left + bar_w + 90;
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
       std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">ocelot compare: " + xml_escape(r.bundle) +
       "</text>\n";
  int lx = 10;
  for (size_t i = 0; i < r.modes.size(); ++i) {
    std::string name = r.modes[i].name;
    if (!r.modes[i].accelerator.empty()) name += " (" + r.modes[i].accelerator + ")";
    o += "<rect x=\"" + std::to_string(lx) + "\" y=\"34\" width=\"12\" height=\"12\" fill=\"" + colors[i % 4] + "\"/>";
    o += "<text x=\"" + std::to_string(lx + 16) + "\" y=\"45\">" + xml_escape(name) + "</text>\n";
    lx += 24 + static_cast<int>(name.size()) * 7;
  }
  int y = top;
  for (const Metric* mt : shown) {
    double mx = 0;
    for (const auto& m : r.modes) mx = std::max(mx, metric_median(m, mt->key));
    o += "<text x=\"10\" y=\"" + std::to_string(y + 12) + "\">" + xml_escape(mt->label) + ", " + mt->unit +
         (mt->higher_is_better ? " (more is better)" : " (less is better)") + "</text>\n";
    for (size_t i = 0; i < r.modes.size(); ++i) {
      double v = metric_median(r.modes[i], mt->key);
      int by = y + label_h + static_cast<int>(i) * (bar_h + gap);
      int w = v > 0 && mx > 0 ? std::max(1, static_cast<int>(bar_w * v / mx)) : 0;
      o += "<rect class=\"bar\" data-metric=\"" + std::string(mt->key) + "\" data-mode=\"" +
           xml_escape(r.modes[i].name) + "\" x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(by) +
           "\" width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(bar_h) + "\" fill=\"" + colors[i % 4] +
           "\"><title>" + xml_escape(r.modes[i].name) + ": " + (v < 0 ? "not measured" : num(v) + " " + mt->unit) +
           "</title></rect>";
      o += "<text x=\"" + std::to_string(left + w + 6) + "\" y=\"" + std::to_string(by + 12) + "\">" +
           (v < 0 ? "n/a" : num(v)) + "</text>\n";
    }
    y += group_h;
  }
  o += "</svg>\n";
  return o;
}

}  // namespace ocelot::compare
