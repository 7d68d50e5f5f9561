#include "vm/share/guest_config.h"

#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace ocelot::vm {

using nlohmann::json;

namespace {

std::string absolute(const std::string& p, const std::string& bundle) {
  return fs::clean_abs(p.empty() || p[0] != '/' ? bundle + "/" + p : p);
}

// A string or boolean member, or def when it is missing or of another type: nlohmann's value()
// throws on a type mismatch, and a config's types are the spec parser's to check (these readers
// only plan; an error here would shadow the parser's own message).
std::string string_or(const json& obj, const char* key, const std::string& def) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : def;
}

bool bool_or(const json& obj, const char* key, bool def) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : def;
}

bool has_option(const json& m, const char* opt) {
  if (!m.contains("options") || !m["options"].is_array()) return false;
  for (const auto& o : m["options"])
    if (o.is_string() && o.get<std::string>() == opt) return true;
  return false;
}

bool is_bind(const json& m) {
  if (string_or(m, "type", "") == "bind") return true;
  return has_option(m, "bind") || has_option(m, "rbind");
}

}  // namespace

Result<GuestPlan> plan_guest(const std::string& config_text, const std::string& bundle,
                             bool (*is_dir)(const std::string&)) {
  json c = json::parse(config_text, nullptr, false);
  if (c.is_discarded() || !c.is_object()) return Error::make("config.json: not a JSON object");
  GuestPlan p;
  std::string base = kGuestBase;

  if (!c.contains("root") || !c["root"].is_object() || !c["root"].contains("path") || !c["root"]["path"].is_string())
    return Error::make("config.json: root.path: missing required field");
  Share root{"rootfs", absolute(c["root"]["path"].get<std::string>(), bundle), base + "/rootfs",
             bool_or(c["root"], "readonly", false)};
  c["root"]["path"] = root.guest_path;
  p.shares.push_back(root);

  if (c.contains("mounts") && c["mounts"].is_array()) {
    for (auto& m : c["mounts"]) {
      if (!m.is_object() || !is_bind(m) || !m.contains("source") || !m["source"].is_string()) continue;
      std::string src = absolute(m["source"].get<std::string>(), bundle);
      bool ro = has_option(m, "ro") || has_option(m, "rro");
      bool dir = is_dir(src);
      // One share per host directory and mode: podman's /etc/hosts, /etc/resolv.conf,
      // /etc/hostname and /run/.containerenv all come from one directory (each 9p device costs
      // VMM start time, and a VM template has a fixed number of them).
      std::string host_dir = dir ? src : fs::dirname(src);
      const Share* same = nullptr;
      for (size_t i = 1; i < p.shares.size(); ++i)
        if (p.shares[i].host_path == host_dir && p.shares[i].readonly == ro) same = &p.shares[i];
      if (same) {
        m["source"] = dir ? same->guest_path : same->guest_path + "/" + fs::basename(src);
        continue;
      }
      Share s;
      s.tag = "m" + std::to_string(p.shares.size());
      s.readonly = ro;
      std::string guest_dir = base + "/" + s.tag;
      if (dir) {
        s.host_path = src;
        s.guest_path = guest_dir;
        m["source"] = guest_dir;
      } else {
        // 9p shares directories: share the file's directory and point at the file inside it.
        s.host_path = fs::dirname(src);
        s.guest_path = guest_dir;
        m["source"] = guest_dir + "/" + fs::basename(src);
      }
      p.shares.push_back(s);
    }
  }

  if (c.contains("linux") && c["linux"].is_object() && c["linux"].contains("namespaces") &&
      c["linux"]["namespaces"].is_array()) {
    for (auto& n : c["linux"]["namespaces"]) {
      if (n.is_object() && n.contains("path") && string_or(n, "type", "") == "network" && n["path"].is_string() &&
          !n["path"].get<std::string>().empty()) {
        p.host_netns = n["path"].get<std::string>();
        n.erase("path");
      } else if (n.is_object() && n.contains("path")) {
        p.warnings.push_back("VM isolation: namespace \"" + string_or(n, "type", "?") + "\" path \"" +
                             (n["path"].is_string() ? n["path"].get<std::string>() : "?") +
                             "\" is a host path: the container gets a new one in the guest");
        n.erase("path");
      }
    }
  }
  // Hooks are the host's programs: prestart, createRuntime, poststart and poststop run on the
  // host (VmBackend, the creation core). createContainer and startContainer run in the
  // container's namespaces, which are in the guest, where the host's programs are not.
  if (c.contains("hooks") && c["hooks"].is_object()) {
    for (const char* in_guest : {"createContainer", "startContainer"})
      if (c["hooks"].contains(in_guest) && c["hooks"][in_guest].is_array() && !c["hooks"][in_guest].empty())
        return Error::make(std::string("VM isolation: ") + in_guest +
                           " hooks run in the container's namespaces, inside the guest, where the host's hook "
                           "programs are not: not supported");
  }
  c.erase("hooks");
  p.config_json = c.dump();
  return p;
}

std::string join_spare_netns(const std::string& config_json, const std::string& netns_path) {
  json c = json::parse(config_json, nullptr, false);
  if (c.is_discarded() || !c.is_object() || !c.contains("linux") || !c["linux"].is_object()) return config_json;
  json& ns = c["linux"]["namespaces"];
  if (!ns.is_array()) return config_json;
  json* net = nullptr;
  for (auto& n : ns) {
    if (!n.is_object() || !n.contains("type") || !n["type"].is_string()) return config_json;
    std::string t = n["type"].get<std::string>();
    if (t == "user") return config_json;
    if (t == "network") net = &n;
  }
  if (!net || (net->contains("path") && !((*net)["path"].is_string() && (*net)["path"].get<std::string>().empty())))
    return config_json;
  (*net)["path"] = netns_path;
  return c.dump();
}

std::string share_guest_netns(const std::string& config_json, const std::string& guest_netns) {
  json c = json::parse(config_json, nullptr, false);
  if (c.is_discarded() || !c.is_object() || !c.contains("linux") || !c["linux"].is_object()) return config_json;
  json& ns = c["linux"]["namespaces"];
  if (!ns.is_array()) return config_json;
  for (auto& n : ns)
    if (n.is_object() && string_or(n, "type", "") == "network") n["path"] = guest_netns;
  return c.dump();
}

std::string encode_guest_plan(const GuestPlan& p) {
  json j;
  j["shares"] = json::array();
  for (const auto& s : p.shares)
    j["shares"].push_back({{"tag", s.tag}, {"path", s.guest_path}, {"readonly", s.readonly}});
  j["config"] = p.config_json;
  if (!p.id.empty()) j["id"] = p.id;
  if (p.host_time_ns) j["time"] = p.host_time_ns;
  if (!p.seed.empty()) j["seed"] = p.seed;
  for (const auto& n : p.nics) {
    json routes = json::array();
    for (const auto& r : n.routes) routes.push_back({{"dst", r.dst}, {"gateway", r.gateway}, {"metric", r.metric}});
    j["nics"].push_back(
        {{"name", n.name}, {"mac", n.mac}, {"mtu", n.mtu}, {"addresses", n.addresses}, {"routes", routes}});
  }
  return j.dump();
}

Result<GuestPlan> decode_guest_plan(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("config") || !j["config"].is_string() ||
      !j.contains("shares") || !j["shares"].is_array())
    return Error::make("malformed guest plan from the host");
  GuestPlan p;
  p.config_json = j["config"].get<std::string>();
  if (j.contains("id") && j["id"].is_string()) p.id = j["id"].get<std::string>();
  if (j.contains("time") && j["time"].is_number_integer()) p.host_time_ns = j["time"].get<int64_t>();
  if (j.contains("seed") && j["seed"].is_string()) p.seed = j["seed"].get<std::string>();
  for (const auto& s : j["shares"]) {
    if (!s.is_object() || !s.contains("tag") || !s["tag"].is_string() || !s.contains("path") || !s["path"].is_string())
      return Error::make("malformed share in the guest plan from the host");
    p.shares.push_back({s["tag"].get<std::string>(), "", s["path"].get<std::string>(), bool_or(s, "readonly", false)});
  }
  if (j.contains("nics")) {
    auto bad = Error::make("malformed network interface in the guest plan from the host");
    if (!j["nics"].is_array()) return bad;
    for (const auto& n : j["nics"]) {
      if (!n.is_object() || !n.contains("mtu") || !n["mtu"].is_number_unsigned() || !n.contains("addresses") ||
          !n["addresses"].is_array() || !n.contains("routes") || !n["routes"].is_array())
        return bad;
      GuestNic nic{string_or(n, "name", ""), string_or(n, "mac", ""), n["mtu"].get<unsigned>(), {}, {}};
      for (const auto& a : n["addresses"]) {
        if (!a.is_string()) return bad;
        nic.addresses.push_back(a.get<std::string>());
      }
      for (const auto& r : n["routes"]) {
        if (!r.is_object() || !r.contains("metric") || !r["metric"].is_number_unsigned()) return bad;
        nic.routes.push_back({string_or(r, "dst", ""), string_or(r, "gateway", ""), r["metric"].get<uint32_t>()});
      }
      if (nic.name.empty() || nic.mac.empty()) return bad;
      p.nics.push_back(std::move(nic));
    }
  }
  return p;
}

}  // namespace ocelot::vm
