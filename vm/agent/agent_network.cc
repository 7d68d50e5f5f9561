#include "vm/agent/agent_network.h"

#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <sys/socket.h>

#include <algorithm>

#include "base/unique_fd.h"
#include "namespaces/net.h"
#include "namespaces/netlink.h"

namespace ocelot::vm {

namespace {

Status configure_nic(ns::Rtnl& nl, const ns::NetLink& link, const GuestNic& nic) {
  std::string ctx = "network interface " + quote(nic.name);
  ns::LinkChange c;
  c.mac = OCL_TRY(ns::parse_mac(nic.mac));
  c.mtu = nic.mtu;
  // Renamed while down (the kernel refuses to rename a running interface); MAC and MTU with it.
  if (link.name != nic.name) c.name = nic.name;
  OCL_CHECK_CTX(nl.set_link(link.index, c), ctx);
  OCL_CHECK_CTX(nl.set_link(link.index, {"", "", 0, true}), "bring " + ctx + " up");
  for (const auto& text : nic.addresses) {
    auto p = OCL_TRY(ns::parse_prefix(text));
    ns::NetAddr a{p.family, link.index, p.prefix, p.addr, 0, 0};
    // IPv6: usable at once. The host's interface had the address already (duplicate detection
    // ran there), and a workload that binds it at start would fail for the second DAD takes.
    if (p.family == AF_INET6) a.flags = IFA_F_NODAD;
    OCL_CHECK_CTX(nl.add_address(a), ctx + ": add address " + text);
  }
  // Routes on the link first: a gateway must be reachable when its route is added.
  std::vector<GuestRoute> routes = nic.routes;
  std::stable_sort(routes.begin(), routes.end(),
                   [](const auto& a, const auto& b) { return a.gateway.empty() && !b.gateway.empty(); });
  for (const auto& r : routes) {
    auto dst = OCL_TRY(ns::parse_prefix(r.dst));
    ns::NetRoute x;
    x.family = dst.family;
    x.index = link.index;
    x.dst_len = dst.prefix;
    if (dst.prefix) x.dst = dst.addr;
    if (!r.gateway.empty()) x.gateway = OCL_TRY(ns::parse_prefix(r.gateway)).addr;
    x.metric = r.metric;
    auto st = nl.add_route(x);
    if (!st && st.error().code != EEXIST)
      return std::move(st).error().wrap(ctx + ": add route " + r.dst + (r.gateway.empty() ? "" : " via " + r.gateway));
  }
  return ok();
}

std::vector<ns::NetLink> ethernet(std::vector<ns::NetLink> links) {
  std::sort(links.begin(), links.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  std::vector<ns::NetLink> out;
  for (auto& l : links)
    if (l.type == ARPHRD_ETHER) out.push_back(std::move(l));
  return out;
}

Status move_nics(size_t count, int netns_fd) {
  ns::Rtnl nl = OCL_TRY(ns::Rtnl::open());
  auto ether = ethernet(OCL_TRY(nl.links()));
  if (ether.size() < count)
    return Error::make("the guest has " + std::to_string(ether.size()) + " network devices for " +
                       std::to_string(count) + " interfaces (does its kernel have virtio_net?)");
  for (size_t i = 0; i < count; ++i) {
    ns::LinkChange c;
    c.netns_fd = netns_fd;
    OCL_CHECK_CTX(nl.set_link(ether[i].index, c), "move network device " + quote(ether[i].name));
  }
  return ok();
}

Status configure_moved(const std::vector<GuestNic>& nics) {
  ns::Rtnl nl = OCL_TRY(ns::Rtnl::open());
  auto ether = ethernet(OCL_TRY(nl.links()));
  if (ether.size() != nics.size()) return Error::make("the NICs did not arrive in the container's network namespace");
  for (size_t i = 0; i < nics.size(); ++i) OCL_CHECK(configure_nic(nl, ether[i], nics[i]));
  return ok();
}

}  // namespace

Status configure_guest_network(const std::vector<GuestNic>& nics, const std::string& netns_path) {
  UniqueFd target(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid()) return Error::last("open " + quote(netns_path));
  OCL_CHECK(move_nics(nics.size(), target.get()));
  return ns::in_network_namespace(netns_path, [&] { return configure_moved(nics); });
}

}  // namespace ocelot::vm
