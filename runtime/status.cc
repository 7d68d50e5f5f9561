#include "runtime/status.h"

#include "base/fs.h"
#include "runtime/lifecycle.h"

namespace ocelot::runtime {

Result<spec::ContainerStatus> container_status(const StateStore& st, const Stored& s, bool check_freezer) {
  using S = spec::ContainerStatus;
  if (s.phase == S::creating) return S::creating;
  if (!s.init.alive()) return S::stopped;
  S live = fs::exists(st.fifo(s.id)) ? S::created : S::running;
  if (!check_freezer) return live;
  // The freezer first, whatever else is true: a `created` container can be paused too (as runc
  // allows), and must then say so, or resume refuses it and start waits on a frozen init.
  auto m = OCL_TRY(manager_for(s));
  auto frozen = m->frozen();
  if (!frozen && (frozen.error().code == ENOENT || frozen.error().code == ENODEV)) {
    // The cgroup went away under us (ENODEV: removed while we read it): a delete is removing
    // the container right now, or systemd stopped its emptied scope.
    if (!fs::exists(st.dir(s.id))) return Error{ENOENT, "container does not exist"};
    return S::stopped;
  }
  if (OCL_TRY(std::move(frozen))) return S::paused;
  return live;
}

}  // namespace ocelot::runtime
