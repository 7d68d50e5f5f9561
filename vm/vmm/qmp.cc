#include "vm/vmm/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"
#include "vm/transport/channel.h"

namespace ocelot::vm {

using nlohmann::json;

Result<Qmp> Qmp::connect(const std::string& dir, const std::string& name, pid_t vmm, int timeout_ms) {
  for (int64_t end = monotonic_ms() + timeout_ms;;) {
    auto c = connect_socket(dir, name);
    if (c) {
      Qmp q(std::move(*c));
      OCL_TRY(q.reply(timeout_ms));  // the greeting
      OCL_TRY(q.execute("qmp_capabilities"));
      return q;
    }
    siginfo_t si = {};
    if (vmm > 0 && ::waitid(P_PID, static_cast<id_t>(vmm), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == vmm)
      return Error{EPIPE, "the VMM exited before its QMP monitor was up"};
    if (monotonic_ms() > end) return Error{ETIMEDOUT, "timed out waiting for the VMM's QMP monitor"};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The next line that is a reply (greeting, return or error), skipping asynchronous events.
Result<std::string> Qmp::reply(int timeout_ms) {
  int64_t end = monotonic_ms() + timeout_ms;
  for (;;) {
    size_t nl;
    while ((nl = buf_.find('\n')) != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return Error::make("QMP: malformed reply " + quote(line));
      if (j.contains("event")) continue;
      if (j.contains("error")) {
        const auto& e = j["error"];
        return Error::make("QMP: " + (e.is_object() && e.contains("desc") && e["desc"].is_string()
                                          ? e["desc"].get<std::string>()
                                          : e.dump()));
      }
      if (j.contains("return")) return j["return"].dump();
      if (j.contains("QMP")) return std::string(line);
    }
    int left = static_cast<int>(end - monotonic_ms());
    if (left <= 0) return Error{ETIMEDOUT, "QMP: no reply in time"};
    struct pollfd p = {fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::last("QMP: poll");
    if (n == 0) continue;
    char b[4096];
    ssize_t r = ::read(fd_.get(), b, sizeof b);
    if (r == 0) return Error{EPIPE, "QMP: the VMM closed its monitor"};
    if (r < 0 && errno != EINTR && errno != EAGAIN) return Error::last("QMP: read");
    if (r > 0) buf_.append(b, static_cast<size_t>(r));
  }
}

Result<std::string> Qmp::execute(const std::string& command, const std::string& arguments, int timeout_ms) {
  std::string msg = "{\"execute\":" + json(command).dump();
  if (!arguments.empty()) msg += ",\"arguments\":" + arguments;
  msg += "}\n";
  if (::send(fd_.get(), msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
    return Error::last("QMP: send " + command);
  auto r = reply(timeout_ms);
  if (!r) return std::move(r).error().wrap(command);
  return r;
}

Status Qmp::send_fd(const std::string& name, int fd) {
  std::string msg = "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":" + json(name).dump() + "}}\n";
  struct iovec iov = {msg.data(), msg.size()};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u = {};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (::sendmsg(fd_.get(), &mh, MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) return Error::last("QMP: getfd");
  auto r = reply(10000);
  if (!r) return std::move(r).error().wrap("getfd");
  return {};
}

}  // namespace ocelot::vm
