#include "cgroups/systemd_plan.h"

#include <algorithm>
#include <cstdio>

#include "base/strings.h"
#include "cgroups/paths.h"
#include "cgroups/plan.h"

namespace ocelot::cgroups {

using std::to_string;

Result<UnitName> systemd_unit_name(const std::string& cgroups_path, const std::string& id) {
  std::string p = cgroups_path.empty() ? "system.slice:ocelot:" + id : cgroups_path;
  auto parts = split(p, ':');
  if (parts.size() != 3)
    return Error::make("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got " +
                       quote(p) + " instead");
  UnitName u;
  u.slice = parts[0].empty() ? "system.slice" : parts[0];
  if (u.slice.size() < 7 || u.slice.compare(u.slice.size() - 6, 6, ".slice") != 0)
    return Error::make("cgroupsPath " + quote(p) + ": " + quote(u.slice) + " is not a slice");
  const std::string& prefix = parts[1];
  const std::string& name = parts[2];
  if (name.empty()) return Error::make("cgroupsPath " + quote(p) + ": the name part is empty");
  bool is_slice = name.size() > 6 && name.compare(name.size() - 6, 6, ".slice") == 0;
  u.unit = is_slice ? name : (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  for (char c : u.unit)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':' || c == '@' ||
          c == '\\'))
      return Error::make("cgroupsPath " + quote(p) + ": " + quote(u.unit) + " is not a valid unit name");
  return u;
}

std::string systemd_cgroups_path(const UnitName& u) {
  std::string unit = u.unit;
  std::string prefix, name = unit;
  if (unit.size() > 6 && unit.compare(unit.size() - 6, 6, ".scope") == 0) name = unit.substr(0, unit.size() - 6);
  return u.slice + ":" + prefix + ":" + name;
}

Result<std::string> cpuset_mask_hex(const std::string& list, const std::string& field) {
  std::vector<unsigned char> bytes;
  for (const auto& part : split(list, ',')) {
    if (part.empty()) continue;
    auto dash = part.find('-');
    unsigned long lo = 0, hi = 0;
    char* end = nullptr;
    lo = std::strtoul(part.c_str(), &end, 10);
    if (end == part.c_str()) return Error::make(field + ": malformed CPU list " + quote(list));
    hi = lo;
    if (dash != std::string::npos) {
      const char* h = part.c_str() + dash + 1;
      hi = std::strtoul(h, &end, 10);
      if (end == h || *end) return Error::make(field + ": malformed CPU list " + quote(list));
    } else if (*end) {
      return Error::make(field + ": malformed CPU list " + quote(list));
    }
    if (hi < lo || hi > 8191) return Error::make(field + ": malformed CPU list " + quote(list));
    for (unsigned long c = lo; c <= hi; ++c) {
      if (bytes.size() <= c / 8) bytes.resize(c / 8 + 1, 0);
      bytes[c / 8] |= static_cast<unsigned char>(1u << (c % 8));
    }
  }
  std::string hex;
  char b[3];
  for (unsigned char x : bytes) {
    std::snprintf(b, sizeof b, "%02x", x);
    hex += b;
  }
  return hex;
}

namespace {

std::string bytes_or_infinity(int64_t v) { return v < 0 ? "infinity" : to_string(v); }

}  // namespace

Result<SystemdPlan> plan_systemd(const spec::Resources& r, Mode host) {
  SystemdPlan p;
  p.rest = r;
  bool v2 = host == Mode::v2;
  auto prop = [&](const char* name, const char* sig, std::string value) {
    p.properties.push_back({name, sig, std::move(value)});
  };
  auto set = [](const auto& v) { return v && *v != 0; };  // runc: present and 0 means "not set"
  if (auto& m = r.memory) {
    auto& rest = *p.rest.memory;
    if (set(m->limit)) {
      prop(v2 ? "MemoryMax" : "MemoryLimit", "t", bytes_or_infinity(*m->limit));
      rest.limit.reset();
    }
    if (v2 && set(m->reservation)) {
      prop("MemoryLow", "t", bytes_or_infinity(*m->reservation));
      rest.reservation.reset();
    }
    if (v2 && set(m->swap)) {
      // The spec's swap is memory+swap (v1 memsw); v2's swap is swap alone.
      if (*m->swap < 0) {
        prop("MemorySwapMax", "t", "infinity");
      } else {
        if (!set(m->limit) || *m->limit < 0)
          return Error::make("linux.resources.memory.swap: on cgroup v2 a swap limit needs a memory limit");
        if (*m->swap < *m->limit)
          return Error::make("linux.resources.memory.swap: must not be lower than memory.limit (" +
                             to_string(*m->swap) + " < " + to_string(*m->limit) + ")");
        prop("MemorySwapMax", "t", to_string(*m->swap - *m->limit));
      }
      rest.swap.reset();
    }
  }
  if (auto& c = r.cpu) {
    auto& rest = *p.rest.cpu;
    if (set(c->shares)) {
      if (v2)
        prop("CPUWeight", "t", to_string(cpu_shares_to_weight(*c->shares)));
      else
        prop("CPUShares", "t", to_string(*c->shares));
      rest.shares.reset();
    }
    if ((c->quota && *c->quota != 0) || set(c->period)) {
      uint64_t period = set(c->period) ? *c->period : 100000;
      prop("CPUQuotaPeriodUSec", "t", to_string(period));
      if (c->quota && *c->quota > 0) {
        // CPUQuotaPerSecUSec is the quota per second of wall time; systemd keeps it in 10 ms steps,
        // so it is rounded up (as runc does) to never give less than asked.
        uint64_t per_sec = static_cast<uint64_t>(*c->quota) * 1000000 / period;
        if (per_sec % 10000) per_sec = (per_sec / 10000 + 1) * 10000;
        prop("CPUQuotaPerSecUSec", "t", to_string(per_sec));
      } else {
        prop("CPUQuotaPerSecUSec", "t", "infinity");
      }
      rest.quota.reset();
      rest.period.reset();
    }
    if (v2 && !c->cpus.empty()) {
      prop("AllowedCPUs", "ay", OCL_TRY(cpuset_mask_hex(c->cpus, "linux.resources.cpu.cpus")));
      rest.cpus.clear();
    }
    if (v2 && !c->mems.empty()) {
      prop("AllowedMemoryNodes", "ay", OCL_TRY(cpuset_mask_hex(c->mems, "linux.resources.cpu.mems")));
      rest.mems.clear();
    }
  }
  if (r.pids && r.pids->limit != 0) {
    prop("TasksMax", "t", r.pids->limit > 0 ? to_string(r.pids->limit) : "infinity");
    p.rest.pids.reset();
  }
  if (auto& b = r.block_io; b && set(b->weight)) {
    if (v2)
      prop("IOWeight", "t", to_string(blkio_weight_to_io_weight(*b->weight)));
    else
      prop("BlockIOWeight", "t", to_string(*b->weight));
    p.rest.block_io->weight.reset();
  }
  // Devices stay with the runtime: ocelot's own device program (v2) or devices.allow/deny (v1)
  // keeps the OCI rules exactly (deny rules, wildcards, their order), which systemd's DeviceAllow
  // cannot express; systemd is told to add no policy of its own (DevicePolicy=auto, no list).
  if (!r.devices.empty()) prop("DevicePolicy", "s", "auto");
  return p;
}

std::vector<UnitProperty> scope_properties(const UnitName& u, const std::string& description, pid_t pid) {
  std::vector<UnitProperty> out = {
      {"Description", "s", description},
      {"Slice", "s", u.slice},
      // The container's cgroup and everything below it are the runtime's: systemd leaves its files
      // and subtree alone.
      {"Delegate", "b", "true"},
      // No ordering against shutdown targets (runc's DefaultDependencies=false).
      {"DefaultDependencies", "b", "false"},
      {"MemoryAccounting", "b", "true"},
      {"CPUAccounting", "b", "true"},
      {"TasksAccounting", "b", "true"},
      {"IOAccounting", "b", "true"},
      {"PIDs", "au", to_string(pid)},
  };
  return out;
}

}  // namespace ocelot::cgroups
