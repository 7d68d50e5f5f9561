// A container's status (runtime-spec runtime.md "State") as a type, and which operation each
// status allows, with runc's wording for a refusal. Every command checks its operation here, once;
// nothing compares status strings. Pure: unit-tested (tests/unit/test_status.cc).
//
//   creating --(init ready)--> created --(start)--> running <--(pause/resume)--> paused
//       \                          \                    \                         /
//        `-----------------(the init exits or is killed)----------> stopped <----'
//
// `creating` is also what a create that was killed half-way leaves: visible to `list`, and
// removed by `delete --force`.
#pragma once

#include <optional>
#include <string_view>

#include "base/error.h"

namespace ocelot::spec {

enum class ContainerStatus { creating, created, running, paused, stopped };

const char* status_name(ContainerStatus s);
std::optional<ContainerStatus> parse_status(std::string_view name);

enum class Operation { start, exec, kill, kill_all, pause, resume, update, remove, remove_force, ps };

// ok() when op may act on a container in status s; otherwise runc's message for it
// ("cannot start an already running container", "container not running", ...).
Status check_operation(ContainerStatus s, Operation op, std::string_view id, bool ignore_paused = false);

}  // namespace ocelot::spec
