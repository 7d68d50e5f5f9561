#include "spec/serialize.h"

#include <nlohmann/json.hpp>

namespace ocelot::spec {

using json = nlohmann::ordered_json;

namespace {
template <class T>
void put(json& j, const char* k, const std::optional<T>& v) {
  if (v) j[k] = *v;
}
}  // namespace

std::string resources_to_json(const Resources& r) {
  json j = json::object();
  if (!r.devices.empty()) {
    j["devices"] = json::array();
    for (const auto& d : r.devices) {
      json e = {{"allow", d.allow}};
      if (!d.type.empty()) e["type"] = d.type;
      put(e, "major", d.major);
      put(e, "minor", d.minor);
      if (!d.access.empty()) e["access"] = d.access;
      j["devices"].push_back(e);
    }
  }
  if (r.memory) {
    json m = json::object();
    put(m, "limit", r.memory->limit);
    put(m, "reservation", r.memory->reservation);
    put(m, "swap", r.memory->swap);
    put(m, "kernel", r.memory->kernel);
    put(m, "kernelTCP", r.memory->kernel_tcp);
    put(m, "swappiness", r.memory->swappiness);
    put(m, "disableOOMKiller", r.memory->disable_oom_killer);
    put(m, "useHierarchy", r.memory->use_hierarchy);
    put(m, "checkBeforeUpdate", r.memory->check_before_update);
    j["memory"] = m;
  }
  if (r.cpu) {
    json c = json::object();
    put(c, "shares", r.cpu->shares);
    put(c, "quota", r.cpu->quota);
    put(c, "burst", r.cpu->burst);
    put(c, "period", r.cpu->period);
    put(c, "realtimeRuntime", r.cpu->realtime_runtime);
    put(c, "realtimePeriod", r.cpu->realtime_period);
    if (!r.cpu->cpus.empty()) c["cpus"] = r.cpu->cpus;
    if (!r.cpu->mems.empty()) c["mems"] = r.cpu->mems;
    put(c, "idle", r.cpu->idle);
    j["cpu"] = c;
  }
  if (r.pids) j["pids"] = {{"limit", r.pids->limit}};
  if (r.block_io) {
    const auto& b = *r.block_io;
    json o = json::object();
    put(o, "weight", b.weight);
    put(o, "leafWeight", b.leaf_weight);
    if (!b.weight_device.empty()) {
      o["weightDevice"] = json::array();
      for (const auto& d : b.weight_device) {
        json e = {{"major", d.major}, {"minor", d.minor}};
        put(e, "weight", d.weight);
        put(e, "leafWeight", d.leaf_weight);
        o["weightDevice"].push_back(e);
      }
    }
    auto thr = [&](const char* k, const std::vector<ThrottleDevice>& v) {
      if (v.empty()) return;
      o[k] = json::array();
      for (const auto& d : v) o[k].push_back({{"major", d.major}, {"minor", d.minor}, {"rate", d.rate}});
    };
    thr("throttleReadBpsDevice", b.throttle_read_bps);
    thr("throttleWriteBpsDevice", b.throttle_write_bps);
    thr("throttleReadIOPSDevice", b.throttle_read_iops);
    thr("throttleWriteIOPSDevice", b.throttle_write_iops);
    j["blockIO"] = o;
  }
  if (!r.hugepage_limits.empty()) {
    j["hugepageLimits"] = json::array();
    for (const auto& h : r.hugepage_limits)
      j["hugepageLimits"].push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
  }
  if (r.network) {
    json n = json::object();
    put(n, "classID", r.network->class_id);
    if (!r.network->priorities.empty()) {
      n["priorities"] = json::array();
      for (const auto& p : r.network->priorities)
        n["priorities"].push_back({{"name", p.name}, {"priority", p.priority}});
    }
    j["network"] = n;
  }
  if (!r.rdma.empty()) {
    j["rdma"] = json::object();
    for (const auto& [k, v] : r.rdma) {
      json e = json::object();
      put(e, "hcaHandles", v.hca_handles);
      put(e, "hcaObjects", v.hca_objects);
      j["rdma"][k] = e;
    }
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j.dump();
}

}  // namespace ocelot::spec
