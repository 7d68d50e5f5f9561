#include "runtime/criu_rpc.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd_passing.h"
#include "base/fs.h"
#include "base/strings.h"
#include "runtime/criu.h"

namespace ocelot::runtime {

namespace {

// -- protobuf's wire format: what these few messages need --------------------------------------

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_key(std::string& out, uint32_t field, Wire w) { put_varint(out, (static_cast<uint64_t>(field) << 3) | w); }

// int32 fields are varints of the sign-extended 64-bit value (a negative one takes 10 bytes).
void put_int(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}

void put_bytes(std::string& out, uint32_t field, const std::string& v) {
  put_key(out, field, kBytes);
  put_varint(out, v.size());
  out += v;
}

struct Reader {
  const std::string& s;
  size_t at = 0;
  bool done() const { return at >= s.size(); }
  Result<uint64_t> varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= s.size()) break;
      auto b = static_cast<unsigned char>(s[at++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return Error::make("CRIU's RPC answer: a malformed varint");
  }
  Result<std::string> bytes() {
    uint64_t n = OCL_TRY(varint());
    if (n > s.size() - at) return Error::make("CRIU's RPC answer: a field longer than the message");
    std::string v = s.substr(at, n);
    at += n;
    return v;
  }
  Status skip(Wire w) {
    size_t n = w == kFixed64 ? 8 : w == kFixed32 ? 4 : 0;
    if (w == kVarint) return OCL_TRY(varint()), ok();
    if (w == kBytes) return OCL_TRY(bytes()), ok();
    if (n == 0) return Error::make("CRIU's RPC answer: an unknown wire type " + std::to_string(w));
    if (n > s.size() - at) return Error::make("CRIU's RPC answer: truncated");
    at += n;
    return ok();
  }
};

// Calls f(field, wire, reader) for each field of a message.
template <typename F>
Status each_field(const std::string& msg, F&& f) {
  Reader r{msg};
  while (!r.done()) {
    uint64_t key = OCL_TRY(r.varint());
    OCL_CHECK(f(static_cast<uint32_t>(key >> 3), static_cast<Wire>(key & 7), r));
  }
  return ok();
}

// criu_opts field numbers (CRIU's images/rpc.proto).
enum OptsField : uint32_t {
  kImagesDirFd = 1,
  kPid = 2,
  kLogLevel = 9,
  kLogFile = 10,
  kWorkDirFd = 17,
  kNotifyScripts = 12,
  kRstSibling = 26,
  kInheritFd = 27,
  kOrphanPtsMaster = 50,
  kConfigFile = 51,
};

std::string encode_opts(const CriuRpcRequest& r) {
  std::string o;
  put_int(o, kImagesDirFd, r.images_dir_fd);
  if (r.pid > 0) put_int(o, kPid, r.pid);
  if (r.work_dir_fd >= 0) put_int(o, kWorkDirFd, r.work_dir_fd);
  put_int(o, kLogLevel, r.log_level);
  if (!r.log_file.empty()) put_bytes(o, kLogFile, r.log_file);
  put_int(o, kNotifyScripts, 1);  // notifications come over the socket: orphan-pts-master is one
  if (r.rst_sibling) put_int(o, kRstSibling, 1);
  for (const auto& [fd, key] : r.inherit_fds) {  // inherit_fd { key = 1; fd = 2; }
    std::string m;
    put_bytes(m, 1, key);
    put_int(m, 2, fd);
    put_bytes(o, kInheritFd, m);
  }
  if (r.orphan_pts_master) put_int(o, kOrphanPtsMaster, 1);
  if (!r.config_file.empty()) put_bytes(o, kConfigFile, r.config_file);
  return o;
}

}  // namespace

std::string encode_criu_request(const CriuRpcRequest& r) {
  std::string out;
  put_int(out, 1, static_cast<int64_t>(r.type));
  if (r.type == CriuRpcType::notify) {
    put_int(out, 3, r.notify_success ? 1 : 0);
    return out;
  }
  put_bytes(out, 2, encode_opts(r));
  return out;
}

Result<CriuRpcResponse> decode_criu_response(const std::string& bytes) {
  CriuRpcResponse resp;
  bool has_type = false;
  OCL_CHECK(each_field(bytes, [&](uint32_t field, Wire w, Reader& r) -> Status {
    if (field == 1 && w == kVarint) {
      resp.type = static_cast<CriuRpcType>(OCL_TRY(r.varint()));
      has_type = true;
    } else if (field == 2 && w == kVarint) {
      resp.success = OCL_TRY(r.varint()) != 0;
    } else if (field == 4 && w == kBytes) {  // criu_restore_resp { pid = 1 }
      return each_field(OCL_TRY(r.bytes()), [&](uint32_t f, Wire fw, Reader& in) -> Status {
        if (f == 1 && fw == kVarint) return resp.restored_pid = static_cast<pid_t>(OCL_TRY(in.varint())), ok();
        return in.skip(fw);
      });
    } else if (field == 5 && w == kBytes) {  // criu_notify { script = 1; pid = 2 }
      return each_field(OCL_TRY(r.bytes()), [&](uint32_t f, Wire fw, Reader& in) -> Status {
        if (f == 1 && fw == kBytes) return resp.notify_script = OCL_TRY(in.bytes()), ok();
        return in.skip(fw);
      });
    } else if (field == 7 && w == kVarint) {
      resp.cr_errno = static_cast<int>(OCL_TRY(r.varint()));
    } else if (field == 9 && w == kBytes) {
      resp.cr_errmsg = OCL_TRY(r.bytes());
    } else {
      return r.skip(w);
    }
    return ok();
  }));
  if (!has_type) return Error::make("CRIU's RPC answer has no type");
  return resp;
}

Result<std::string> criu_config_text(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& opt = args[i];
    if (!opt.starts_with("--")) return Error::make("criu option " + quote(opt) + ": expected --name");
    std::string line = opt.substr(2);
    if (opt.find('=') == std::string::npos && i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      std::string v;
      for (char ch : args[++i]) v += ch == '"' ? std::string("\\\"") : std::string(1, ch);
      line += " \"" + v + "\"";
    }
    // CRIU's reader ends a line at '#' (a comment), wherever it is.
    if (line.find('#') != std::string::npos || line.find('\n') != std::string::npos)
      return Error::make("criu option " + quote(line) + ": CRIU's configuration file cannot carry '#' or a newline");
    out += line + "\n";
  }
  return out;
}

namespace {

Result<UniqueFd> config_memfd(const std::string& text) {
  UniqueFd fd(::memfd_create("ocelot-criu.conf", MFD_CLOEXEC));
  if (!fd.valid()) return Error::last("memfd for CRIU's configuration");
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return Error::last("write CRIU's configuration");
  return fd;
}

CriuRpcType action_type(const std::string& action) {
  if (action == "restore") return CriuRpcType::restore;
  return action == "pre-dump" ? CriuRpcType::pre_dump : CriuRpcType::dump;
}

// The conversation: one request, then notifications (each answered) until the result.
Result<pid_t> converse(int sock, const CriuRpcRequest& req, const std::function<Status(int)>& on_pty_master,
                       Error* callback_error) {
  OCL_CHECK(send_with_fd(sock, encode_criu_request(req), -1, "send CRIU's request"));
  for (;;) {
    Received m = OCL_TRY(receive_with_fd(sock, "CRIU's answer"));
    if (m.eof) return Error::make("CRIU exited without an answer");
    CriuRpcResponse resp = OCL_TRY(decode_criu_response(m.payload));
    if (resp.type != CriuRpcType::notify) {
      if (!resp.success) return Error{resp.cr_errno, resp.cr_errmsg};
      return resp.restored_pid;
    }
    Status st = ok();
    if (resp.notify_script == "orphan-pts-master") {
      if (!m.fd.valid())
        st = Error::make("CRIU sent no pty master");
      else if (on_pty_master)
        st = on_pty_master(m.fd.get());
    }
    CriuRpcRequest answer;
    answer.type = CriuRpcType::notify;
    answer.notify_success = st.ok();
    if (!st) *callback_error = std::move(st).error();
    OCL_CHECK(send_with_fd(sock, encode_criu_request(answer), -1, "answer CRIU's notification"));
  }
}

}  // namespace

Result<pid_t> run_criu(const std::string& criu, const CriuCall& call, pid_t dump_pid, const std::string& log_name,
                       const std::vector<int>& extra_fds, const std::function<Status(int)>& on_pty_master) {
  UniqueFd conf = OCL_TRY(config_memfd(OCL_TRY(criu_config_text(call.options))));
  // The directories go as fds, not in the configuration: CRIU 3.17 (Debian 12) resolves a work
  // dir only from /proc/<peer>/fd/N ("Can't readlink <dir>" otherwise). Inherited fds go as the
  // request's inherit_fd entries: 3.17 failed on the file's ("Can't send fd N into store").
  UniqueFd images_fd(::open(call.images_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!images_fd.valid()) return Error::last("images dir " + quote(call.images_dir));
  UniqueFd work_fd(::open(call.work_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!work_fd.valid()) return Error::last("work dir " + quote(call.work_dir));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::last("socketpair for CRIU");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  std::vector<std::string> full = {criu, "swrk", std::to_string(theirs.get())};
  CStrings argv(full);
  pid_t pid = ::fork();
  if (pid < 0) return Error::last("fork criu");
  if (pid == 0) {
    for (int fd : extra_fds) ::fcntl(fd, F_SETFD, 0);
    ::fcntl(theirs.get(), F_SETFD, 0);
    ::execv(criu.c_str(), argv.data());
    ::_exit(127);
  }
  theirs.reset();
  CriuRpcRequest req;
  req.type = action_type(call.action);
  req.images_dir_fd = images_fd.get();
  req.inherit_fds = call.inherit;
  req.work_dir_fd = work_fd.get();
  req.pid = dump_pid;
  req.log_file = log_name;
  req.orphan_pts_master = true;
  req.rst_sibling = req.type == CriuRpcType::restore;
  // CRIU opens it as our fd: /proc/<us>/fd/N (it runs as root, as we do).
  req.config_file = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(conf.get());
  Error callback_error{0, ""};
  auto result = converse(ours.get(), req, on_pty_master, &callback_error);
  ours.reset();  // criu swrk ends when the conversation does
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !result)
    return Error::make("criu " + call.action + ": cannot run " + quote(criu));
  if (!callback_error.msg.empty()) return std::move(callback_error).wrap("criu " + call.action);
  if (result) return result;
  std::string log = call.work_dir + "/" + log_name;
  return Error::make("criu " + call.action + " failed: " + criu_log_error(log) + " (log: " + log + ")");
}

}  // namespace ocelot::runtime
