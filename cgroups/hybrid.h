// A hybrid host: v1 hierarchies for most controllers plus a cgroup2 mount holding the controllers
// no v1 hierarchy binds (on this project's host: hugetlb). Each resource is written in the
// hierarchy that holds its controller, with that hierarchy's file names.
#pragma once

#include "cgroups/fs_v1.h"
#include "cgroups/fs_v2.h"

namespace ocelot::cgroups {

class HybridManager : public Manager {
 public:
  HybridManager(const Layout& layout, const Paths& paths)
      : layout_(layout), paths_(paths), v1_(layout, Paths{paths.v1, ""}), v2_(layout, Paths{{}, paths.v2}) {}
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

 private:
  Layout layout_;
  Paths paths_;
  V1Manager v1_;
  V2Manager v2_;
};

}  // namespace ocelot::cgroups
