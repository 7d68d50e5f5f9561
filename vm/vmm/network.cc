#include "vm/vmm/network.h"

#include <fcntl.h>
#include <net/if.h>  // before the linux headers: glibc's struct ifreq, which <linux/if.h> then leaves alone
// clang-format off
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
// clang-format on
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

#include "namespaces/net.h"
#include "namespaces/netlink.h"

namespace ocelot::vm {

namespace {

std::string prefix_text(int family, const std::string& raw, unsigned len) {
  std::string a = raw.empty() ? (family == AF_INET ? "0.0.0.0" : "::") : ns::format_ip(family, raw);
  return a + "/" + std::to_string(len);
}

// The interface as the guest's NIC gets it: its addresses (not IPv6 link-local ones: the guest's
// kernel makes the same from the same MAC) and the routes through it that were added to it (not
// those the kernel derived from an address: the guest's kernel derives them too).
GuestNic describe(const ns::NetLink& l, const std::vector<ns::NetAddr>& addrs,
                  const std::vector<ns::NetRoute>& routes) {
  GuestNic n{l.name, ns::format_mac(l.mac), l.mtu, {}, {}};
  for (const auto& a : addrs) {
    if (a.index != l.index || (a.family == AF_INET6 && a.scope == RT_SCOPE_LINK)) continue;
    n.addresses.push_back(prefix_text(a.family, a.addr, a.prefix));
  }
  for (const auto& r : routes) {
    if (r.index != l.index || r.protocol == RTPROT_KERNEL || r.type != RTN_UNICAST) continue;
    if (r.family == AF_INET6 && r.dst_len == 64 && r.dst.size() == 16 && static_cast<unsigned char>(r.dst[0]) == 0xfe &&
        (static_cast<unsigned char>(r.dst[1]) & 0xc0) == 0x80)
      continue;  // fe80::/64
    n.routes.push_back({prefix_text(r.family, r.dst, r.dst_len),
                        r.gateway.empty() ? "" : ns::format_ip(r.family, r.gateway), r.metric});
  }
  return n;
}

// A tap in the current network namespace; its name (the kernel picks the number) in *name.
Result<UniqueFd> make_tap(std::string* name) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return Error::last("open /dev/net/tun");
  struct ifreq ifr = {};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, "ocelot-tap%d", IFNAMSIZ - 1);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return Error::last("create a tap device");
  *name = ifr.ifr_name;
  return fd;
}

bool is_carried(const ns::NetLink& l) {
  // Ethernet interfaces the caller made (veth, macvlan, ...), not loopback and not our taps.
  return l.type == ARPHRD_ETHER && l.kind != "tun" && l.name.rfind("ocelot-tap", 0) != 0;
}

Status attach_here(NetAttachment& out) {
  ns::Rtnl nl = OCL_TRY(ns::Rtnl::open());
  auto links = OCL_TRY(nl.links());
  auto addrs = OCL_TRY(nl.addresses());
  auto routes = OCL_TRY(nl.routes());
  std::sort(links.begin(), links.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  for (const auto& l : links) {
    if (!is_carried(l)) continue;
    std::string tap_name;
    UniqueFd tap = OCL_TRY(make_tap(&tap_name));
    unsigned tap_index = ::if_nametoindex(tap_name.c_str());
    if (!tap_index) return Error::last("find tap " + quote(tap_name));
    auto tap_ctx = "tap " + quote(tap_name);
    OCL_CHECK_CTX(nl.set_link(static_cast<int>(tap_index), {"", "", l.mtu, true}), "bring " + tap_ctx + " up");
    if (auto st = nl.add_ingress_qdisc(l.index); !st) {
      if (st.error().code == EEXIST)
        return Error{EEXIST, "interface " + quote(l.name) +
                                 " has an ingress qdisc already (another VM container's, or tc of the caller's): "
                                 "its traffic cannot be carried into the guest"};
      return std::move(st).error().wrap("add an ingress qdisc to " + quote(l.name));
    }
    out.joined.push_back(l.name);  // from here on, detach removes it
    OCL_CHECK_CTX(nl.add_ingress_qdisc(static_cast<int>(tap_index)), "add an ingress qdisc to " + tap_ctx);
    OCL_CHECK_CTX(nl.redirect_ingress(l.index, static_cast<int>(tap_index)),
                  "redirect " + quote(l.name) + "'s traffic to " + tap_ctx);
    OCL_CHECK_CTX(nl.redirect_ingress(static_cast<int>(tap_index), l.index),
                  "redirect " + tap_ctx + "'s traffic to " + quote(l.name));
    out.nics.push_back(describe(l, addrs, routes));
    out.taps.push_back(std::move(tap));
  }
  return ok();
}

Status detach_here(const std::vector<std::string>& joined) {
  ns::Rtnl nl = OCL_TRY(ns::Rtnl::open());
  Status first;
  for (const auto& name : joined) {
    unsigned index = ::if_nametoindex(name.c_str());
    if (!index) continue;  // gone with its namespace's teardown
    auto st = nl.del_ingress_qdisc(static_cast<int>(index));
    if (!st && st.error().code != ENOENT && st.error().code != EINVAL && first)
      first = std::move(st).error().wrap("remove the ingress qdisc of " + quote(name));
  }
  return first;
}

}  // namespace

Result<NetAttachment> attach_network(const std::string& netns_path) {
  NetAttachment a;
  auto st = ns::in_network_namespace(netns_path, [&] { return attach_here(a); });
  if (!st) {
    a.taps.clear();  // the taps go with their fds, their qdiscs and filters with them
    (void)detach_network(netns_path, a.joined);
    return std::move(st).error().wrap("network namespace " + quote(netns_path));
  }
  return a;
}

Status detach_network(const std::string& netns_path, const std::vector<std::string>& joined) {
  if (joined.empty()) return ok();
  auto st = ns::in_network_namespace(netns_path, [&] { return detach_here(joined); });
  if (!st && st.error().code == ENOENT) return ok();  // the namespace is gone, and its interfaces
  return st;
}

}  // namespace ocelot::vm
