#include "runtime/seccomp_listener.h"

#include <nlohmann/json.hpp>

#include "runtime/console.h"

namespace ocelot::runtime {

Status send_to_seccomp_listener(const spec::Seccomp& sc, int notify_fd, pid_t pid, const spec::State& state) {
  nlohmann::ordered_json st = nlohmann::json::parse(spec::state_to_hook_json(state));
  nlohmann::ordered_json msg = {{"ociVersion", spec::kOciVersion},
                                {"fds", {"seccompFd"}},
                                {"pid", pid},
                                {"metadata", sc.listener_metadata},
                                {"state", st}};
  UniqueFd l = OCL_TRY(connect_console_socket(sc.listener_path));
  OCL_CHECK_CTX(send_fd(l.get(), notify_fd, msg.dump()), "send seccomp fd to " + quote(sc.listener_path));
  return ok();
}

}  // namespace ocelot::runtime
