// A container's status, derived each time from what create recorded, the process that holds it
// (the init or the VMM: alive, and still the same process), the created marker, and the freezer.
#pragma once

#include "base/error.h"
#include "runtime/state_store.h"
#include "spec/status.h"

namespace ocelot::runtime {

// creating / created / running / paused / stopped. An error when the freezer cannot be read
// (never a silent "not paused"). check_freezer = false only for a caller that has held the
// container's lock since create (run's start): nothing can have frozen it.
Result<spec::ContainerStatus> container_status(const StateStore& st, const Stored& s, bool check_freezer = true);

}  // namespace ocelot::runtime
