#include "namespaces/netlink.h"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/veth.h>
#include <sys/socket.h>

#include <cctype>
#include <cstring>

namespace ocelot::ns {

// -- building ---------------------------------------------------------------------------------------

NlMessage::NlMessage(uint16_t type, uint16_t flags) {
  struct nlmsghdr h = {};
  h.nlmsg_type = type;
  h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  b_.assign(reinterpret_cast<const char*>(&h), sizeof h);
}

void NlMessage::pad() { b_.resize(NLMSG_ALIGN(b_.size()), '\0'); }

void NlMessage::body(const void* p, size_t n) {
  b_.append(static_cast<const char*>(p), n);
  pad();
}

void NlMessage::attr(uint16_t type, const void* p, size_t n) {
  struct nlattr a = {static_cast<uint16_t>(NLA_HDRLEN + n), type};
  b_.append(reinterpret_cast<const char*>(&a), sizeof a);
  if (n) b_.append(static_cast<const char*>(p), n);
  pad();
}

size_t NlMessage::begin_nest(uint16_t type) {
  size_t at = b_.size();
  attr(type, nullptr, 0);
  return at;
}

void NlMessage::end_nest(size_t at) {
  auto len = static_cast<uint16_t>(b_.size() - at);
  std::memcpy(b_.data() + at, &len, sizeof len);
}

const std::string& NlMessage::bytes(uint32_t seq) {
  auto* h = reinterpret_cast<struct nlmsghdr*>(b_.data());
  h->nlmsg_len = static_cast<uint32_t>(b_.size());
  h->nlmsg_seq = seq;
  return b_;
}

NlMessage redirect_filter_message(int from, int to) {
  NlMessage m(RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  struct tcmsg t = {};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = from;
  t.tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0);    // the ingress qdisc's handle, ffff:
  t.tcm_info = TC_H_MAKE(0, htons(ETH_P_ALL));  // every protocol; priority 0: the kernel picks one
  m.body(&t, sizeof t);
  m.attr_str(TCA_KIND, "u32");
  size_t opts = m.begin_nest(TCA_OPTIONS);
  size_t acts = m.begin_nest(TCA_U32_ACT);
  size_t first = m.begin_nest(1);  // actions are numbered from 1, in the order they run
  m.attr_str(TCA_ACT_KIND, "mirred");
  size_t aopts = m.begin_nest(TCA_ACT_OPTIONS | NLA_F_NESTED);
  struct tc_mirred mirred = {};
  mirred.action = TC_ACT_STOLEN;  // the frame is the other interface's now: `from`'s stack never sees it
  mirred.eaction = TCA_EGRESS_REDIR;
  mirred.ifindex = static_cast<uint32_t>(to);
  m.attr(TCA_MIRRED_PARMS, &mirred, sizeof mirred);
  m.end_nest(aopts);
  m.end_nest(first);
  m.end_nest(acts);
  // One key that masks nothing: every frame matches.
  struct tc_u32_sel sel = {};
  sel.flags = TC_U32_TERMINAL;
  sel.nkeys = 1;
  struct tc_u32_key key = {};
  char match[sizeof sel + sizeof key];
  std::memcpy(match, &sel, sizeof sel);
  std::memcpy(match + sizeof sel, &key, sizeof key);
  m.attr(TCA_U32_SEL, match, sizeof match);
  m.end_nest(opts);
  return m;
}

// -- the socket -------------------------------------------------------------------------------------

Result<Rtnl> Rtnl::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return Error::last("open an rtnetlink socket");
  struct sockaddr_nl sa = {};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) != 0)
    return Error::last("bind an rtnetlink socket");
  return Rtnl(std::move(fd));
}

Status Rtnl::request(NlMessage& m, std::vector<std::string>* dump) {
  uint32_t seq = ++seq_;
  const std::string& out = m.bytes(seq);
  if (::send(fd_.get(), out.data(), out.size(), 0) != static_cast<ssize_t>(out.size()))
    return Error::last("rtnetlink send");
  std::string buf(64 << 10, '\0');
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::last("rtnetlink receive");
    auto len = static_cast<unsigned>(n);
    for (auto* h = reinterpret_cast<struct nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return ok();
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0 && !dump) return ok();
        if (e->error != 0) return Error::sys(-e->error, "rtnetlink");
        continue;
      }
      if (dump) dump->emplace_back(reinterpret_cast<const char*>(h), h->nlmsg_len);
    }
  }
}

namespace {

// Calls f(type, payload, length) for each attribute in [p, p+len).
template <class F>
void each_attr(const void* p, size_t len, F&& f) {
  const auto* a = static_cast<const struct rtattr*>(p);
  auto left = static_cast<unsigned>(len);
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left))
    f(a->rta_type & NLA_TYPE_MASK, static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a));
}

template <class Body>
const Body* body_of(const std::string& msg, const void** attrs, size_t* attrs_len) {
  const auto* h = reinterpret_cast<const struct nlmsghdr*>(msg.data());
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(Body))) return nullptr;
  const auto* b = static_cast<const Body*>(NLMSG_DATA(h));
  *attrs = reinterpret_cast<const char*>(b) + NLMSG_ALIGN(sizeof(Body));
  *attrs_len = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(Body)));
  return b;
}

// Calls f(body, attrs, attrs_len) for each reply of the dump whose type is `type`.
template <class Body, class F>
void each_reply(const std::vector<std::string>& replies, uint16_t type, F&& f) {
  for (const auto& r : replies) {
    const void* attrs;
    size_t len;
    const auto* b = body_of<Body>(r, &attrs, &len);
    if (b && reinterpret_cast<const struct nlmsghdr*>(r.data())->nlmsg_type == type) f(*b, attrs, len);
  }
}

uint32_t u32_of(const char* p, size_t n) {
  uint32_t v = 0;
  if (n >= sizeof v) std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

Result<std::vector<NetLink>> Rtnl::links() {
  NlMessage m(RTM_GETLINK, NLM_F_DUMP);
  struct ifinfomsg i = {};
  i.ifi_family = AF_UNSPEC;
  m.body(&i, sizeof i);
  std::vector<std::string> replies;
  OCL_CHECK_CTX(request(m, &replies), "list network interfaces");
  std::vector<NetLink> out;
  each_reply<struct ifinfomsg>(replies, RTM_NEWLINK, [&](const struct ifinfomsg& b, const void* attrs, size_t len) {
    NetLink l;
    l.index = b.ifi_index;
    l.flags = b.ifi_flags;
    l.type = b.ifi_type;
    each_attr(attrs, len, [&](unsigned t, const char* p, size_t n) {
      if (t == IFLA_IFNAME) l.name.assign(p, strnlen(p, n));
      if (t == IFLA_ADDRESS) l.mac.assign(p, n);
      if (t == IFLA_MTU) l.mtu = u32_of(p, n);
      if (t == IFLA_LINKINFO)
        each_attr(p, n, [&](unsigned it, const char* ip, size_t in) {
          if (it == IFLA_INFO_KIND) l.kind.assign(ip, strnlen(ip, in));
        });
    });
    out.push_back(std::move(l));
  });
  return out;
}

Result<std::vector<NetAddr>> Rtnl::addresses() {
  NlMessage m(RTM_GETADDR, NLM_F_DUMP);
  struct ifaddrmsg a = {};
  a.ifa_family = AF_UNSPEC;
  m.body(&a, sizeof a);
  std::vector<std::string> replies;
  OCL_CHECK_CTX(request(m, &replies), "list network addresses");
  std::vector<NetAddr> out;
  each_reply<struct ifaddrmsg>(replies, RTM_NEWADDR, [&](const struct ifaddrmsg& b, const void* attrs, size_t len) {
    NetAddr x;
    x.family = b.ifa_family;
    x.index = static_cast<int>(b.ifa_index);
    x.prefix = b.ifa_prefixlen;
    x.scope = b.ifa_scope;
    std::string local, address;
    each_attr(attrs, len, [&](unsigned t, const char* p, size_t n) {
      if (t == IFA_LOCAL) local.assign(p, n);
      if (t == IFA_ADDRESS) address.assign(p, n);
    });
    // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on point-to-point links);
    // IPv6 has only IFA_ADDRESS.
    x.addr = local.empty() ? address : local;
    if (!x.addr.empty()) out.push_back(std::move(x));
  });
  return out;
}

Result<std::vector<NetRoute>> Rtnl::routes() {
  NlMessage m(RTM_GETROUTE, NLM_F_DUMP);
  struct rtmsg rt = {};
  rt.rtm_family = AF_UNSPEC;
  m.body(&rt, sizeof rt);
  std::vector<std::string> replies;
  OCL_CHECK_CTX(request(m, &replies), "list routes");
  std::vector<NetRoute> out;
  each_reply<struct rtmsg>(replies, RTM_NEWROUTE, [&](const struct rtmsg& b, const void* attrs, size_t len) {
    NetRoute x;
    x.family = b.rtm_family;
    x.dst_len = b.rtm_dst_len;
    x.protocol = b.rtm_protocol;
    x.scope = b.rtm_scope;
    x.type = b.rtm_type;
    x.table = b.rtm_table;
    each_attr(attrs, len, [&](unsigned t, const char* p, size_t n) {
      if (t == RTA_DST) x.dst.assign(p, n);
      if (t == RTA_GATEWAY) x.gateway.assign(p, n);
      if (t == RTA_OIF) x.index = static_cast<int>(u32_of(p, n));
      if (t == RTA_PRIORITY) x.metric = u32_of(p, n);
      if (t == RTA_TABLE) x.table = u32_of(p, n);
    });
    if (x.table == RT_TABLE_MAIN) out.push_back(std::move(x));
  });
  return out;
}

Status Rtnl::set_link(int index, const LinkChange& c) {
  NlMessage m(RTM_NEWLINK, NLM_F_ACK);
  struct ifinfomsg i = {};
  i.ifi_family = AF_UNSPEC;
  i.ifi_index = index;
  if (c.up) {
    i.ifi_flags = IFF_UP;
    i.ifi_change = IFF_UP;
  }
  m.body(&i, sizeof i);
  if (!c.name.empty()) m.attr_str(IFLA_IFNAME, c.name);
  if (!c.mac.empty()) m.attr(IFLA_ADDRESS, c.mac.data(), c.mac.size());
  if (c.mtu) m.attr_u32(IFLA_MTU, c.mtu);
  if (c.netns_fd >= 0) m.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(c.netns_fd));
  return request(m, nullptr);
}

Status Rtnl::add_address(const NetAddr& a) {
  NlMessage m(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg x = {};
  x.ifa_family = static_cast<unsigned char>(a.family);
  x.ifa_prefixlen = static_cast<unsigned char>(a.prefix);
  x.ifa_scope = a.scope;
  x.ifa_flags = a.flags;
  x.ifa_index = static_cast<unsigned>(a.index);
  m.body(&x, sizeof x);
  m.attr(IFA_LOCAL, a.addr.data(), a.addr.size());
  m.attr(IFA_ADDRESS, a.addr.data(), a.addr.size());
  return request(m, nullptr);
}

Status Rtnl::add_route(const NetRoute& r) {
  NlMessage m(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg x = {};
  x.rtm_family = static_cast<unsigned char>(r.family);
  x.rtm_dst_len = static_cast<unsigned char>(r.dst_len);
  x.rtm_table = RT_TABLE_MAIN;
  x.rtm_protocol = r.protocol ? r.protocol : static_cast<unsigned char>(RTPROT_BOOT);
  x.rtm_scope = r.gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  x.rtm_type = r.type ? r.type : static_cast<unsigned char>(RTN_UNICAST);
  m.body(&x, sizeof x);
  if (!r.dst.empty()) m.attr(RTA_DST, r.dst.data(), r.dst.size());
  if (!r.gateway.empty()) m.attr(RTA_GATEWAY, r.gateway.data(), r.gateway.size());
  if (r.index) m.attr_u32(RTA_OIF, static_cast<uint32_t>(r.index));
  if (r.metric) m.attr_u32(RTA_PRIORITY, r.metric);
  return request(m, nullptr);
}

Status Rtnl::add_veth(const std::string& name, const std::string& peer, int peer_netns_fd) {
  NlMessage m(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg i = {};
  i.ifi_family = AF_UNSPEC;
  m.body(&i, sizeof i);
  m.attr_str(IFLA_IFNAME, name);
  size_t info = m.begin_nest(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "veth");
  size_t data = m.begin_nest(IFLA_INFO_DATA);
  size_t p = m.begin_nest(VETH_INFO_PEER);  // the peer's own ifinfomsg, then its attributes
  m.body(&i, sizeof i);
  m.attr_str(IFLA_IFNAME, peer);
  m.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  m.end_nest(p);
  m.end_nest(data);
  m.end_nest(info);
  return request(m, nullptr);
}

static NlMessage ingress_qdisc_message(uint16_t type, uint16_t flags, int index) {
  NlMessage m(type, NLM_F_ACK | flags);
  struct tcmsg t = {};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = index;
  t.tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
  t.tcm_parent = TC_H_INGRESS;
  m.body(&t, sizeof t);
  m.attr_str(TCA_KIND, "ingress");
  return m;
}

Status Rtnl::add_ingress_qdisc(int index) {
  auto m = ingress_qdisc_message(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, index);
  return request(m, nullptr);
}

Status Rtnl::del_ingress_qdisc(int index) {
  auto m = ingress_qdisc_message(RTM_DELQDISC, 0, index);
  return request(m, nullptr);
}

Status Rtnl::redirect_ingress(int from, int to) {
  auto m = redirect_filter_message(from, to);
  return request(m, nullptr);
}

// -- text -------------------------------------------------------------------------------------------

std::string format_mac(const std::string& raw) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < raw.size(); ++i) {
    auto c = static_cast<unsigned char>(raw[i]);
    if (i) s += ':';
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

Result<std::string> parse_mac(const std::string& text) {
  std::string raw;
  unsigned v = 0;
  int digits = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : ':';
    if (c == ':') {
      if (digits != 2) return Error::make("malformed MAC address " + quote(text));
      raw += static_cast<char>(v);
      v = 0;
      digits = 0;
      continue;
    }
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0 || ++digits > 2) return Error::make("malformed MAC address " + quote(text));
    v = v * 16 + static_cast<unsigned>(d);
  }
  if (raw.size() != 6) return Error::make("malformed MAC address " + quote(text));
  return raw;
}

std::string format_ip(int family, const std::string& raw) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!::inet_ntop(family, raw.data(), buf, sizeof buf)) return "?";
  return buf;
}

Result<IpPrefix> parse_prefix(const std::string& text) {
  IpPrefix p;
  std::string addr = text, len;
  auto slash = text.find('/');
  if (slash != std::string::npos) {
    addr = text.substr(0, slash);
    len = text.substr(slash + 1);
    if (len.empty()) return Error::make("malformed prefix length in " + quote(text));
  }
  unsigned char buf[16];
  if (::inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    p.family = AF_INET;
    p.addr.assign(reinterpret_cast<char*>(buf), 4);
  } else if (::inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    p.family = AF_INET6;
    p.addr.assign(reinterpret_cast<char*>(buf), 16);
  } else {
    return Error::make("malformed IP address " + quote(text));
  }
  unsigned max = p.family == AF_INET ? 32 : 128;
  p.prefix = max;
  if (!len.empty()) {
    char* end = nullptr;
    unsigned long v = std::strtoul(len.c_str(), &end, 10);
    if (*end || v > max || !std::isdigit(static_cast<unsigned char>(len[0])))
      return Error::make("malformed prefix length in " + quote(text));
    p.prefix = static_cast<unsigned>(v);
  }
  return p;
}

}  // namespace ocelot::ns
