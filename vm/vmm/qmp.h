// A QMP client (QEMU's JSON monitor) for what VM templates need: save a booted guest's device
// state, restore it into a new VMM. One command at a time; events are skipped.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace ocelot::vm {

class Qmp {
 public:
  // Connects to <dir>/<name> (QEMU is the server), retrying until it is there; gives up when
  // `vmm` (our child) exits or after timeout_ms. Reads the greeting and negotiates capabilities.
  static Result<Qmp> connect(const std::string& dir, const std::string& name, pid_t vmm, int timeout_ms);
  // Runs one command: `execute` and its `arguments` as a JSON object text ("" for none). Returns
  // the "return" value as JSON text, or QEMU's error description.
  Result<std::string> execute(const std::string& command, const std::string& arguments = "", int timeout_ms = 10000);
  // getfd: hands QEMU an fd of ours under `name` (for "fd:<name>" migration URIs).
  Status send_fd(const std::string& name, int fd);

 private:
  explicit Qmp(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<std::string> reply(int timeout_ms);
  UniqueFd fd_;
  std::string buf_;
};

}  // namespace ocelot::vm
