// cgroup v2: one directory in the unified hierarchy. Used alone on a v2 host (every current
// distribution, and ocelot's VM guest) and as the v2 half of a hybrid host.
#pragma once

#include "cgroups/manager.h"

namespace ocelot::cgroups {

class V2Manager : public Manager {
 public:
  V2Manager(Layout layout, Paths paths) : layout_(std::move(layout)), paths_(std::move(paths)) {}
  const Paths& paths() const override { return paths_; }
  bool occupied() const override;
  Status create() override;
  Status add_process(pid_t pid) override;
  Status apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra_allowed) override;
  Status freeze(bool frozen) override;
  Result<bool> frozen() const override;
  Result<std::vector<pid_t>> pids() const override;
  Status remove() override;
  Stats stats() const override;

  // For the hybrid manager: writes whose controllers cgroup2 holds (others are errors).
  Status write_plan(const Plan& p);
  Status write_devices(const std::vector<spec::DeviceCgroup>& rules,
                       const std::vector<spec::DeviceCgroup>& extra_allowed);
  bool has(const std::string& controller) const;

 private:
  Layout layout_;
  Paths paths_;
};

}  // namespace ocelot::cgroups
