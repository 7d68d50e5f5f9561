#include "spec/status.h"

#include <string>

namespace ocelot::spec {

const char* status_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::creating: return "creating";
    case ContainerStatus::created: return "created";
    case ContainerStatus::running: return "running";
    case ContainerStatus::paused: return "paused";
    case ContainerStatus::stopped: return "stopped";
  }
  return "unknown";
}

std::optional<ContainerStatus> parse_status(std::string_view n) {
  for (auto s : {ContainerStatus::creating, ContainerStatus::created, ContainerStatus::running, ContainerStatus::paused,
                 ContainerStatus::stopped})
    if (n == status_name(s)) return s;
  return std::nullopt;
}

Status check_operation(ContainerStatus s, Operation op, std::string_view id, bool ignore_paused) {
  using S = ContainerStatus;
  auto no = [](std::string m) -> Status { return Error::make(std::move(m)); };
  switch (op) {
    case Operation::start:
      if (s == S::created) return ok();
      if (s == S::stopped) return no("cannot start a container that has stopped");
      if (s == S::creating) return no("cannot start a container that is still being created");
      if (s == S::paused) return no("cannot start a container in the paused state");
      return no("cannot start an already running container");
    case Operation::exec:
      if (s == S::running || s == S::created) return ok();
      if (s == S::paused) {
        if (ignore_paused) return ok();
        return no("cannot exec in a paused container (use --ignore-paused to override)");
      }
      if (s == S::creating) return no("cannot exec in a container that is still being created");
      return no("cannot exec in a stopped container");
    case Operation::kill:
      if (s == S::created || s == S::running || s == S::paused) return ok();
      return no("container not running");
    case Operation::kill_all: return ok();  // also reaches what is left of a stopped or half-created container
    case Operation::pause:
      if (s == S::running || s == S::created) return ok();
      if (s == S::paused) return no("container already paused");
      return no("container not running");
    case Operation::resume:
      if (s == S::paused) return ok();
      return no("container not paused");
    case Operation::update:
      if (s == S::created || s == S::running || s == S::paused) return ok();
      return no("container not running");
    case Operation::remove:
      if (s == S::stopped || s == S::created) return ok();
      return no("cannot delete container " + std::string(id) + " that is not stopped: " + status_name(s));
    case Operation::remove_force:
    case Operation::ps: return ok();
  }
  return no("unknown operation");
}

}  // namespace ocelot::spec
