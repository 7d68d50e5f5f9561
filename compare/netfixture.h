// The network `ocelot compare` measures through: the probe's side is a network namespace pinned
// at <work>/netns (every mode's probe bundle joins it by path, so containers, VMs and runc get
// the same veth), the host side is a process of ours in a network namespace of its own, serving
// a TCP echo (port 7001) and a sink (7002, one byte back at the end) on 169.254.80.1. The two are
// joined by a veth with link-local addresses (169.254.80.1/30, .2/30); nothing is routed out and
// the host's own network is never touched. Stopped by pid; the pin is unmounted and removed.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"

namespace ocelot::compare {

class NetFixture {
 public:
  static constexpr const char* kHostAddr = "169.254.80.1";
  static constexpr const char* kProbeAddr = "169.254.80.2";
  static Result<NetFixture> start(const std::string& work);
  NetFixture(NetFixture&& o) noexcept;
  NetFixture& operator=(NetFixture&&) = delete;
  NetFixture(const NetFixture&) = delete;
  ~NetFixture();
  const std::string& netns() const { return pin_; }

 private:
  NetFixture() = default;
  pid_t server_ = 0;
  std::string pin_;
};

}  // namespace ocelot::compare
