// rtnetlink, the little of it ocelot needs: read a network namespace's interfaces, addresses and
// routes; configure an interface (the VM guest's NIC); and the traffic-control pieces that join two
// interfaces both ways (an ingress qdisc and a u32 match-all filter whose mirred action redirects
// every frame to the other interface's egress), which is how a VM container's tap device and the
// caller's veth carry each other's traffic (Kata's "tcfilter" model).
//
// An Rtnl socket works on the network namespace it was opened in, whatever namespace its user is
// in later: open it inside the namespace, use it from anywhere.
//
// The message builder is pure (unit-tested byte for byte); the rest is tested for real as root.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::ns {

struct NetLink {
  int index = 0;
  std::string name;
  std::string mac;  // raw bytes (6 for ethernet)
  unsigned mtu = 0;
  unsigned flags = 0;       // IFF_*
  unsigned short type = 0;  // ARPHRD_*
  std::string kind;         // IFLA_INFO_KIND ("veth", "tun", ...), "" when the kernel gives none
};

struct NetAddr {
  int family = 0;  // AF_INET or AF_INET6
  int index = 0;
  unsigned prefix = 0;
  std::string addr;  // raw (4 or 16 bytes)
  unsigned char scope = 0;
  unsigned char flags = 0;  // IFA_F_* (IFA_F_NODAD: usable at once, no duplicate detection)
};

struct NetRoute {
  int family = 0;
  int index = 0;  // RTA_OIF, 0 when none
  unsigned dst_len = 0;
  std::string dst, gateway;  // raw, "" when none (dst "" with dst_len 0: the default route)
  uint32_t metric = 0;
  unsigned char protocol = 0, scope = 0, type = 0;
  uint32_t table = 0;
};

// What set_link changes: each field when set.
struct LinkChange {
  std::string name;
  std::string mac;  // raw
  unsigned mtu = 0;
  bool up = false;
  int netns_fd = -1;  // moves the interface to this network namespace (it arrives down)
};

// One rtnetlink request: a header, a fixed body, attributes (nested by begin_nest/end_nest), each
// padded to 4 bytes as the kernel's NLA_ALIGN.
class NlMessage {
 public:
  NlMessage(uint16_t type, uint16_t flags);
  void body(const void* p, size_t n);
  void attr(uint16_t type, const void* p, size_t n);
  void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  size_t begin_nest(uint16_t type);
  void end_nest(size_t at);
  // The finished message, its length and sequence number in the header.
  const std::string& bytes(uint32_t seq);

 private:
  void pad();
  std::string b_;
};

class Rtnl {
 public:
  // A NETLINK_ROUTE socket in the calling thread's network namespace.
  static Result<Rtnl> open();
  Result<std::vector<NetLink>> links();
  Result<std::vector<NetAddr>> addresses();
  Result<std::vector<NetRoute>> routes();  // the main table's
  Status set_link(int index, const LinkChange& c);
  Status add_address(const NetAddr& a);
  Status add_route(const NetRoute& r);
  // A veth pair: `name` here, `peer` in the network namespace peer_netns_fd (both down).
  Status add_veth(const std::string& name, const std::string& peer, int peer_netns_fd);
  // An ingress qdisc on the interface (fails with EEXIST when it has one).
  Status add_ingress_qdisc(int index);
  Status del_ingress_qdisc(int index);
  // Every frame that enters `from` leaves through `to` (u32 match-all, mirred egress redirect).
  Status redirect_ingress(int from, int to);

 private:
  explicit Rtnl(UniqueFd fd) : fd_(std::move(fd)) {}
  // Sends m; with dump, collects each reply's payload (header included) until NLMSG_DONE, else
  // waits for the kernel's acknowledgement.
  Status request(NlMessage& m, std::vector<std::string>* dump);

  UniqueFd fd_;
  uint32_t seq_ = 0;
};

// The tc filter message redirect_ingress sends (pure, unit-tested).
NlMessage redirect_filter_message(int from, int to);

// Text forms: "aa:bb:cc:dd:ee:ff", an address as inet_ntop writes it, "addr/prefix".
std::string format_mac(const std::string& raw);
Result<std::string> parse_mac(const std::string& text);
std::string format_ip(int family, const std::string& raw);
// Parses "addr" or "addr/prefix" (prefix defaults to the full length).
struct IpPrefix {
  int family = 0;
  std::string addr;
  unsigned prefix = 0;
};
Result<IpPrefix> parse_prefix(const std::string& text);

}  // namespace ocelot::ns
