#include "runtime/sync.h"

#include "base/fd_passing.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <vector>

namespace ocelot::runtime {

const char* msg_name(Msg m) {
  switch (m) {
    case Msg::go: return "go";
    case Msg::mounts_ready: return "mounts-ready";
    case Msg::hooks_done: return "hooks-done";
    case Msg::ready: return "ready";
    case Msg::error: return "error";
    case Msg::cgroup_joined: return "cgroup-joined";
    case Msg::seccomp_fd: return "seccomp-fd";
    case Msg::execing: return "execing";
  }
  return "unknown";
}

Status SyncChannel::send(Msg type, int32_t err, std::string_view payload) noexcept {
  MsgHeader h{static_cast<uint32_t>(type), err, static_cast<uint32_t>(payload.size())};
  struct iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(payload.data()), payload.size()}};
  struct msghdr m = {};
  m.msg_iov = iov;
  m.msg_iovlen = payload.empty() ? 1 : 2;
  while (::sendmsg(fd_, &m, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    // EMSGSIZE for a message larger than the socket's buffer: an error, never a cut payload.
    return Error::last(std::string("send sync message \"") + msg_name(type) + "\"");
  }
  return ok();
}

Result<SyncChannel::Received> SyncChannel::receive() {
  auto m = OCL_TRY(receive_with_fd(fd_, "receive sync message"));
  Received r;
  r.eof = m.eof;
  if (r.eof) return r;
  if (m.payload.size() < sizeof(MsgHeader))
    return Error::make("short sync message (" + std::to_string(m.payload.size()) + " bytes)");
  MsgHeader h;
  std::memcpy(&h, m.payload.data(), sizeof h);
  if (h.len != m.payload.size() - sizeof h) return Error::make("malformed sync message: length does not match");
  r.type = static_cast<Msg>(h.type);
  r.err = h.err;
  r.payload = m.payload.substr(sizeof h);
  r.fd = std::move(m.fd);
  return r;
}

Result<std::string> SyncChannel::expect(Msg want) {
  auto r = OCL_TRY(receive());
  if (r.eof)
    return Error::make(std::string("the runtime went away while the child waited for \"") + msg_name(want) + "\"");
  if (r.type != want)
    return Error::make(std::string("sync: expected \"") + msg_name(want) + "\", got \"" + msg_name(r.type) + "\"");
  return std::move(r.payload);
}

// sync 2
Status SyncChannel::send_go(pid_t host_pid) { return send(Msg::go, 0, std::to_string(host_pid)); }
Result<pid_t> SyncChannel::wait_go() {
  std::string p = OCL_TRY(expect(Msg::go));
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
  if (ec != std::errc() || end != p.data() + p.size()) return Error::make("sync: malformed \"go\" message");
  return pid;
}

// sync 2b
Status SyncChannel::send_cgroup_joined(pid_t host_pid) { return send(Msg::cgroup_joined, 0, std::to_string(host_pid)); }
Result<pid_t> SyncChannel::wait_cgroup_joined() {
  std::string p = OCL_TRY(expect(Msg::cgroup_joined));
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
  if (ec != std::errc() || end != p.data() + p.size()) return Error::make("sync: malformed \"cgroup joined\" message");
  return pid;
}

// sync 3
Status SyncChannel::send_mounts_ready() { return send(Msg::mounts_ready); }
Status SyncChannel::send_hooks_done() { return send(Msg::hooks_done); }
Status SyncChannel::wait_hooks_done() {
  auto r = expect(Msg::hooks_done);
  if (!r) return std::move(r).error();
  return ok();
}

Status SyncChannel::send_seccomp_fd(int fd) {
  MsgHeader h{static_cast<uint32_t>(Msg::seccomp_fd), 0, 0};
  return send_with_fd(fd_, std::string_view(reinterpret_cast<const char*>(&h), sizeof h), fd,
                      "send the seccomp notify fd");
}

Status SyncChannel::send_error(const Error& e) noexcept { return send(Msg::error, e.code, e.msg); }
Status SyncChannel::send_execing() { return send(Msg::execing); }

std::optional<Error> SyncChannel::reported_error() {
  for (;;) {
    struct pollfd p = {fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return std::nullopt;
    auto r = receive();
    if (!r || r->eof) return std::nullopt;
    if (r->type == Msg::error) return Error{r->err, std::move(r->payload)};
  }
}

Result<ChildEvent> SyncChannel::wait_for_child() {
  auto r = OCL_TRY(receive());
  if (r.eof) return ChildEvent{ChildEvent::exited, {}};
  switch (r.type) {
    case Msg::error: return Error{r.err, std::move(r.payload)};
    case Msg::mounts_ready: return ChildEvent{ChildEvent::mounts_ready, {}};
    case Msg::ready: return ChildEvent{ChildEvent::ready, {}};
    case Msg::execing: return ChildEvent{ChildEvent::execing, {}};
    case Msg::seccomp_fd:
      if (!r.fd.valid()) return Error::make("sync: \"seccomp-fd\" arrived without a file descriptor");
      return ChildEvent{ChildEvent::seccomp_fd, std::move(r.fd)};
    default: return Error::make(std::string("sync: unexpected \"") + msg_name(r.type) + "\" from the child");
  }
}

void child_fail(int fd, const Error& e) noexcept {
  (void)SyncChannel(fd).send_error(e);
  ::_exit(1);
}

}  // namespace ocelot::runtime
