// cgroup v1: one directory per hierarchy (cpu, memory, pids, ...), each controller's files in its
// own. Used alone on a v1 host and as the v1 half of a hybrid host.
#pragma once

#include "cgroups/manager.h"

namespace ocelot::cgroups {

class V1Manager : public Manager {
 public:
  V1Manager(Layout layout, Paths paths) : layout_(std::move(layout)), paths_(std::move(paths)) {}
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

  // For the hybrid manager: writes whose controllers are v1's (others are errors), and the
  // device rules.
  Status write_plan(const Plan& p);
  Status write_devices(const std::vector<spec::DeviceCgroup>& rules,
                       const std::vector<spec::DeviceCgroup>& extra_allowed);
  bool has(const std::string& controller) const { return paths_.v1.count(controller) > 0; }
  std::string dir_for(const std::string& controller) const;

 private:
  std::vector<std::string> dirs() const;
  Layout layout_;
  Paths paths_;
};

}  // namespace ocelot::cgroups
