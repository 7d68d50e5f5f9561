#include "namespaces/net.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "base/unique_fd.h"

namespace ocelot::ns {

Status in_network_namespace(const std::string& path, const std::function<Status()>& f) {
  UniqueFd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid()) return Error::last("open network namespace " + quote(path));
  UniqueFd back(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!back.valid()) return Error::last("open our network namespace");
  if (::setns(target.get(), CLONE_NEWNET) != 0) return Error::last("enter network namespace " + quote(path));
  Status st = f();
  // Staying there would put our later sockets in the wrong namespace: the caller must not go on.
  if (::setns(back.get(), CLONE_NEWNET) != 0) return Error::last("return from network namespace " + quote(path));
  return st;
}

Status loopback_up_in_child() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::last("bring \"lo\" up: socket");
  struct ifreq ifr = {};
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return Error::last("bring \"lo\" up: read its flags");
  if (ifr.ifr_flags & IFF_UP) return ok();
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return Error::last("bring \"lo\" up");
  return ok();
}

}  // namespace ocelot::ns
