#include "cgroups/plan.h"

#include <cmath>

namespace ocelot::cgroups {

using std::to_string;

uint64_t cpu_shares_to_weight(uint64_t shares) {
  // Maps 2 -> 1, 1024 -> 100 (the defaults of each), 262144 -> 10000 on a log-quadratic curve.
  if (shares == 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  double l = std::log2(static_cast<double>(shares));
  double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return static_cast<uint64_t>(std::ceil(std::pow(10.0, exponent)));
}

uint64_t blkio_weight_to_io_weight(uint64_t w) {
  if (w == 0) return 0;
  return 1 + (w - 10) * 9999 / 990;
}

std::string hugepage_file_size(const std::string& page_size) { return page_size; }

std::vector<spec::DeviceCgroup> default_allowed_devices() {
  auto dev = [](const char* t, std::optional<int64_t> maj, std::optional<int64_t> min, const char* acc) {
    spec::DeviceCgroup d;
    d.allow = true;
    d.type = t;
    d.major = maj;
    d.minor = min;
    d.access = acc;
    return d;
  };
  return {dev("c", {}, {}, "m"), dev("b", {}, {}, "m"),    dev("c", 1, 3, "rwm"), dev("c", 1, 8, "rwm"),
          dev("c", 1, 7, "rwm"), dev("c", 5, 0, "rwm"),    dev("c", 1, 5, "rwm"), dev("c", 1, 9, "rwm"),
          dev("c", 5, 1, "rwm"), dev("c", 136, {}, "rwm"), dev("c", 5, 2, "rwm"), dev("c", 10, 200, "rwm")};
}

std::string v1_device_rule(const spec::DeviceCgroup& d) {
  std::string t = d.type.empty() ? "a" : d.type;
  std::string maj = d.major ? to_string(*d.major) : "*";
  std::string min = d.minor ? to_string(*d.minor) : "*";
  std::string acc = d.access.empty() ? "rwm" : d.access;
  return t + " " + maj + ":" + min + " " + acc;
}

static std::string dev(int64_t maj, int64_t min) { return to_string(maj) + ":" + to_string(min); }

static std::string limit_or_max(int64_t v) { return v < 0 ? "max" : to_string(v); }

Result<Plan> plan_v1(const spec::Resources& r) {
  Plan p;
  auto w = [&](const char* c, std::string f, std::string v, bool opt = false) {
    p.writes.push_back({c, std::move(f), std::move(v), opt});
  };
  // runc's convention, which callers rely on: a field present with 0 means "not set" (docker
  // 20.10 always sends blockIO.weight 0, and a 0 memory limit would OOM-kill at once).
  auto set = [](const auto& v) { return v && *v != 0; };
  if (auto& m = r.memory) {
    if (set(m->limit)) w("memory", "memory.limit_in_bytes", to_string(*m->limit));
    if (set(m->swap)) w("memory", "memory.memsw.limit_in_bytes", to_string(*m->swap), true);
    if (set(m->reservation)) w("memory", "memory.soft_limit_in_bytes", to_string(*m->reservation));
    if (m->kernel) p.warnings.push_back("linux.resources.memory.kernel is deprecated and ignored");
    // v1 kernels still have the TCP buffer limit (runc writes it too); one without says so.
    if (set(m->kernel_tcp)) w("memory", "memory.kmem.tcp.limit_in_bytes", to_string(*m->kernel_tcp), true);
    if (m->swappiness) {
      if (*m->swappiness > 100)
        return Error::make("linux.resources.memory.swappiness: must be between 0 and 100, got " +
                           to_string(*m->swappiness));
      w("memory", "memory.swappiness", to_string(*m->swappiness));
    }
    if (m->disable_oom_killer && *m->disable_oom_killer) w("memory", "memory.oom_control", "1");
    if (m->use_hierarchy) w("memory", "memory.use_hierarchy", *m->use_hierarchy ? "1" : "0", true);
  }
  if (auto& c = r.cpu) {
    if (set(c->shares)) w("cpu", "cpu.shares", to_string(*c->shares));
    // The period first: the kernel checks quota against the current period.
    if (c->period && *c->period) w("cpu", "cpu.cfs_period_us", to_string(*c->period));
    if (c->quota && *c->quota != 0) w("cpu", "cpu.cfs_quota_us", to_string(*c->quota));
    if (c->burst) w("cpu", "cpu.cfs_burst_us", to_string(*c->burst));
    if (c->realtime_period && *c->realtime_period) w("cpu", "cpu.rt_period_us", to_string(*c->realtime_period));
    if (c->realtime_runtime && *c->realtime_runtime) w("cpu", "cpu.rt_runtime_us", to_string(*c->realtime_runtime));
    if (c->idle) w("cpu", "cpu.idle", to_string(*c->idle));
    if (!c->cpus.empty()) w("cpuset", "cpuset.cpus", c->cpus);
    if (!c->mems.empty()) w("cpuset", "cpuset.mems", c->mems);
  }
  if (r.pids && r.pids->limit != 0) w("pids", "pids.max", r.pids->limit > 0 ? to_string(r.pids->limit) : "max");
  if (auto& b = r.block_io) {
    if (set(b->weight)) w("blkio", "blkio.weight", to_string(*b->weight));
    if (set(b->leaf_weight)) w("blkio", "blkio.leaf_weight", to_string(*b->leaf_weight));
    for (auto& d : b->weight_device) {
      if (set(d.weight)) w("blkio", "blkio.weight_device", dev(d.major, d.minor) + " " + to_string(*d.weight));
      if (set(d.leaf_weight))
        w("blkio", "blkio.leaf_weight_device", dev(d.major, d.minor) + " " + to_string(*d.leaf_weight));
    }
    for (auto& d : b->throttle_read_bps)
      w("blkio", "blkio.throttle.read_bps_device", dev(d.major, d.minor) + " " + to_string(d.rate));
    for (auto& d : b->throttle_write_bps)
      w("blkio", "blkio.throttle.write_bps_device", dev(d.major, d.minor) + " " + to_string(d.rate));
    for (auto& d : b->throttle_read_iops)
      w("blkio", "blkio.throttle.read_iops_device", dev(d.major, d.minor) + " " + to_string(d.rate));
    for (auto& d : b->throttle_write_iops)
      w("blkio", "blkio.throttle.write_iops_device", dev(d.major, d.minor) + " " + to_string(d.rate));
  }
  for (auto& h : r.hugepage_limits)
    w("hugetlb", "hugetlb." + hugepage_file_size(h.page_size) + ".limit_in_bytes", to_string(h.limit));
  if (auto& n = r.network) {
    if (set(n->class_id)) w("net_cls", "net_cls.classid", to_string(*n->class_id));
    for (auto& pr : n->priorities) w("net_prio", "net_prio.ifpriomap", pr.name + " " + to_string(pr.priority));
  }
  for (auto& [name, rd] : r.rdma) {
    std::string v = name;
    if (rd.hca_handles) v += " hca_handle=" + to_string(*rd.hca_handles);
    if (rd.hca_objects) v += " hca_object=" + to_string(*rd.hca_objects);
    w("rdma", "rdma.max", v);
  }
  if (!r.unified.empty())
    return Error::make("linux.resources.unified: needs cgroup v2, and this host has only cgroup v1");
  return p;
}

Result<Plan> plan_v2(const spec::Resources& r) {
  Plan p;
  auto w = [&](const char* c, std::string f, std::string v, bool opt = false) {
    p.writes.push_back({c, std::move(f), std::move(v), opt});
  };
  auto set = [](const auto& v) { return v && *v != 0; };  // runc: present and 0 means "not set"
  if (auto& m = r.memory) {
    if (set(m->reservation)) w("memory", "memory.low", limit_or_max(*m->reservation));
    if (set(m->limit)) w("memory", "memory.max", limit_or_max(*m->limit));
    if (set(m->swap)) {
      // The spec's swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone.
      if (*m->swap < 0) {
        w("memory", "memory.swap.max", "max", true);
      } else {
        if (!set(m->limit) || *m->limit < 0)
          return Error::make("linux.resources.memory.swap: on cgroup v2 a swap limit needs a memory limit");
        if (*m->swap < *m->limit)
          return Error::make("linux.resources.memory.swap: must not be lower than memory.limit (" +
                             to_string(*m->swap) + " < " + to_string(*m->limit) + ")");
        w("memory", "memory.swap.max", to_string(*m->swap - *m->limit), true);
      }
    }
    if (m->kernel) p.warnings.push_back("linux.resources.memory.kernel is deprecated and ignored");
    if (m->kernel_tcp) p.warnings.push_back("linux.resources.memory.kernelTCP is ignored: cgroup v2 has no such limit");
    if (m->swappiness) p.warnings.push_back("linux.resources.memory.swappiness is not supported on cgroup v2, ignored");
    if (m->disable_oom_killer && *m->disable_oom_killer)
      p.warnings.push_back("linux.resources.memory.disableOOMKiller is not supported on cgroup v2, ignored");
  }
  if (auto& c = r.cpu) {
    if (set(c->shares)) w("cpu", "cpu.weight", to_string(cpu_shares_to_weight(*c->shares)));
    if ((c->quota && *c->quota != 0) || (c->period && *c->period)) {
      std::string q = (c->quota && *c->quota > 0) ? to_string(*c->quota) : "max";
      w("cpu", "cpu.max", q + " " + to_string(c->period && *c->period ? *c->period : 100000));
    }
    if (c->burst) w("cpu", "cpu.max.burst", to_string(*c->burst));
    if (c->idle) w("cpu", "cpu.idle", to_string(*c->idle));
    if ((c->realtime_period && *c->realtime_period) || (c->realtime_runtime && *c->realtime_runtime))
      return Error::make("linux.resources.cpu.realtimeRuntime: realtime scheduling is not supported on cgroup v2");
    if (!c->cpus.empty()) w("cpuset", "cpuset.cpus", c->cpus);
    if (!c->mems.empty()) w("cpuset", "cpuset.mems", c->mems);
  }
  if (r.pids && r.pids->limit != 0) w("pids", "pids.max", r.pids->limit > 0 ? to_string(r.pids->limit) : "max");
  if (auto& b = r.block_io) {
    if (set(b->weight)) w("io", "io.bfq.weight", to_string(*b->weight), true);
    if (set(b->weight)) w("io", "io.weight", "default " + to_string(blkio_weight_to_io_weight(*b->weight)), true);
    for (auto& d : b->weight_device)
      if (set(d.weight)) w("io", "io.bfq.weight", dev(d.major, d.minor) + " " + to_string(*d.weight), true);
    auto thr = [&](const std::vector<spec::ThrottleDevice>& v, const char* key) {
      for (auto& d : v) w("io", "io.max", dev(d.major, d.minor) + " " + key + "=" + to_string(d.rate));
    };
    thr(b->throttle_read_bps, "rbps");
    thr(b->throttle_write_bps, "wbps");
    thr(b->throttle_read_iops, "riops");
    thr(b->throttle_write_iops, "wiops");
  }
  for (auto& h : r.hugepage_limits)
    w("hugetlb", "hugetlb." + hugepage_file_size(h.page_size) + ".max", to_string(h.limit));
  if (r.network && (r.network->class_id.value_or(0) != 0 || !r.network->priorities.empty()))
    return Error::make("linux.resources.network: net_cls and net_prio do not exist on cgroup v2");
  for (auto& [name, rd] : r.rdma) {
    std::string v = name;
    if (rd.hca_handles) v += " hca_handle=" + to_string(*rd.hca_handles);
    if (rd.hca_objects) v += " hca_object=" + to_string(*rd.hca_objects);
    w("rdma", "rdma.max", v);
  }
  for (auto& [k, v] : r.unified) {
    if (k.find('/') != std::string::npos || k.find("..") != std::string::npos)
      return Error::make("linux.resources.unified." + k + ": not a cgroup file name");
    auto dot = k.find('.');
    w("", k, v);
    p.writes.back().controller = dot == std::string::npos ? "" : k.substr(0, dot);
    p.writes.back().raw = true;
  }
  return p;
}

spec::Resources select_controllers(const spec::Resources& r, const std::function<bool(const std::string&)>& keep) {
  spec::Resources out;
  out.devices = r.devices;
  out.unified = r.unified;
  if (r.memory && keep("memory")) out.memory = r.memory;
  if (r.cpu) {
    spec::Cpu c = *r.cpu;
    bool cpu = keep("cpu"), cpuset = keep("cpuset");
    if (!cpu) {
      c.shares.reset();
      c.quota.reset();
      c.burst.reset();
      c.period.reset();
      c.realtime_runtime.reset();
      c.realtime_period.reset();
      c.idle.reset();
    }
    if (!cpuset) c.cpus.clear(), c.mems.clear();
    if (cpu || cpuset) out.cpu = c;
  }
  if (r.pids && keep("pids")) out.pids = r.pids;
  if (r.block_io && (keep("blkio") || keep("io"))) out.block_io = r.block_io;
  if (keep("hugetlb")) out.hugepage_limits = r.hugepage_limits;
  if (r.network) {
    spec::Network n;
    if (keep("net_cls")) n.class_id = r.network->class_id;
    if (keep("net_prio")) n.priorities = r.network->priorities;
    if (n.class_id || !n.priorities.empty()) out.network = n;
  }
  if (keep("rdma")) out.rdma = r.rdma;
  return out;
}

std::vector<spec::DeviceCgroup> device_node_rules(const std::vector<spec::Device>& devices) {
  std::vector<spec::DeviceCgroup> out;
  for (const auto& d : devices) {
    if (d.type == "p") continue;
    spec::DeviceCgroup rule;
    rule.allow = true;
    rule.type = d.type == "u" ? "c" : d.type;
    rule.major = d.major;
    rule.minor = d.minor;
    rule.access = "rwm";
    out.push_back(rule);
  }
  return out;
}

}  // namespace ocelot::cgroups
