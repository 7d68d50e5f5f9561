#include "compare/netfixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "namespaces/net.h"
#include "namespaces/netlink.h"

namespace ocelot::compare {

namespace {

constexpr int kEchoPort = 7001, kSinkPort = 7002;

// In a child: a new network namespace with lo up, bind-mounted on pin (our mount namespace's).
Status pin_new_netns(const std::string& pin) {
  OCL_CHECK(fs::write_file(pin, "", 0600));
  pid_t pid = ::fork();
  if (pid < 0) return Error::last("fork");
  if (pid == 0) {
    bool ok = ::unshare(CLONE_NEWNET) == 0 && ns::loopback_up_in_child() &&
              ::mount("/proc/self/ns/net", pin.c_str(), nullptr, MS_BIND, nullptr) == 0;
    ::_exit(ok ? 0 : 1);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return Error::make("make a network namespace for the probe");
  return ok();
}

Status add_addr(ns::Rtnl& nl, const std::string& ifname, const char* addr) {
  unsigned index = ::if_nametoindex(ifname.c_str());
  if (!index) return Error::last("find " + quote(ifname));
  auto p = OCL_TRY(ns::parse_prefix(std::string(addr) + "/30"));
  OCL_CHECK(nl.add_address({p.family, static_cast<int>(index), p.prefix, p.addr, 0, 0}));
  return nl.set_link(static_cast<int>(index), {"", "", 0, true, -1});
}

// In the server, in its own new namespace: the veth to the probe's namespace, both ends up.
Status make_link(const std::string& pin) {
  if (::unshare(CLONE_NEWNET) != 0) return Error::last("unshare a network namespace");
  OCL_CHECK(ns::loopback_up_in_child());
  UniqueFd target(::open(pin.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid()) return Error::last("open " + quote(pin));
  ns::Rtnl nl = OCL_TRY(ns::Rtnl::open());
  OCL_CHECK_CTX(nl.add_veth("vh", "eth0", target.get()), "add a veth pair");
  OCL_CHECK(add_addr(nl, "vh", NetFixture::kHostAddr));
  return ns::in_network_namespace(pin, []() -> Status {
    ns::Rtnl inside = OCL_TRY(ns::Rtnl::open());
    return add_addr(inside, "eth0", NetFixture::kProbeAddr);
  });
}

Result<UniqueFd> listen_on(int port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::last("socket");
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, NetFixture::kHostAddr, &sa.sin_addr);
  if (::bind(s.get(), reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) != 0 || ::listen(s.get(), 8) != 0)
    return Error::last("listen on port " + std::to_string(port));
  return s;
}

// Echo back what comes on an echo connection; swallow a sink's and answer one byte at its end.
[[noreturn]] void serve(int echo, int sink) {
  struct Conn {
    UniqueFd fd;
    bool is_sink;
  };
  std::vector<Conn> conns;
  static char buf[1 << 16];
  for (;;) {
    std::vector<struct pollfd> p = {{echo, POLLIN, 0}, {sink, POLLIN, 0}};
    for (const auto& c : conns) p.push_back({c.fd.get(), POLLIN, 0});
    if (::poll(p.data(), p.size(), -1) < 0) continue;
    for (size_t i = 0; i < 2; ++i)
      if (p[i].revents & POLLIN) {
        int fd = ::accept4(i ? sink : echo, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) conns.push_back({UniqueFd(fd), i == 1});
      }
    for (size_t i = 2; i < p.size(); ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      Conn& c = conns[i - 2];
      ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
      if (n > 0 && !c.is_sink) (void)!::write(c.fd.get(), buf, static_cast<size_t>(n));
      if (n <= 0) {
        if (c.is_sink) (void)!::write(c.fd.get(), "k", 1);
        c.fd.reset();
      }
    }
    std::erase_if(conns, [](const Conn& c) { return !c.fd.valid(); });
  }
}

}  // namespace

Result<NetFixture> NetFixture::start(const std::string& work) {
  NetFixture f;
  f.pin_ = work + "/netns";
  if (auto st = pin_new_netns(f.pin_); !st) {
    ::unlink(f.pin_.c_str());
    f.pin_.clear();
    return std::move(st).error();
  }
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return Error::last("pipe");
  UniqueFd r(ready[0]), w(ready[1]);
  f.server_ = ::fork();
  if (f.server_ < 0) return Error::last("fork the network's host side");
  if (f.server_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the comparison
    r.reset();
    auto st = make_link(f.pin_);
    Result<UniqueFd> echo = st ? listen_on(kEchoPort) : Result<UniqueFd>(st.error());
    Result<UniqueFd> sink = echo ? listen_on(kSinkPort) : Result<UniqueFd>(echo.error());
    std::string msg = sink ? "k" : sink.error().msg;
    (void)!::write(w.get(), msg.data(), msg.size());
    w.reset();
    if (!sink) ::_exit(1);
    serve(echo->get(), sink->get());
  }
  w.reset();
  char buf[512];
  ssize_t n = ::read(r.get(), buf, sizeof buf);
  if (n == 1 && buf[0] == 'k') return f;
  return Error::make("the network's host side: " + (n > 0 ? std::string(buf, static_cast<size_t>(n)) : "exited"));
}

NetFixture::NetFixture(NetFixture&& o) noexcept
    : server_(std::exchange(o.server_, 0)), pin_(std::exchange(o.pin_, std::string())) {}

NetFixture::~NetFixture() {
  if (server_ > 0) {
    ::kill(server_, SIGKILL);  // its namespace goes, and the veth pair with it
    while (::waitpid(server_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (!pin_.empty()) {
    ::umount2(pin_.c_str(), MNT_DETACH);
    ::unlink(pin_.c_str());
  }
}

}  // namespace ocelot::compare
