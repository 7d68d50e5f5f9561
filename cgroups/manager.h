// A container's cgroup, behind one small interface: created, joined, limited, frozen, listed and
// removed. The cgroupfs driver has one implementation per host layout, chosen by make_fs_manager():
//   V1Manager      (cgroups/fs_v1.cc)  one directory per v1 hierarchy
//   V2Manager      (cgroups/fs_v2.cc)  one directory in the unified hierarchy
//   HybridManager  (cgroups/hybrid.cc) both, each controller driven in the hierarchy that holds it
//                                      (on this project's host: hugetlb in cgroup2, the rest in v1)
// The systemd driver (cgroups/systemd.h) wraps one of them. Every command gets its manager from
// cgroups/driver.h. Managers know nothing of containers: they are given directories, so tests
// point them at a temp dir (tests/unit/test_cgroup_manager.cc).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "cgroups/layout.h"
#include "cgroups/paths.h"
#include "cgroups/plan.h"
#include "cgroups/stats.h"
#include "spec/config.h"

namespace ocelot::cgroups {

class Manager {
 public:
  virtual ~Manager() = default;
  virtual const Paths& paths() const = 0;
  // Is the container's cgroup already there with processes in it? Then it is shared with others,
  // and the caller must never kill them or remove it.
  virtual bool occupied() const = 0;
  // Makes every missing level.
  virtual Status create() = 0;
  virtual Status add_process(pid_t pid) = 0;
  // Writes linux.resources; a resource whose controller this host lacks is an error, never
  // skipped in silence. extra_allowed: device rules added after the defaults (runc allows the
  // linux.devices nodes).
  virtual Status apply(const spec::Resources& r, const std::vector<spec::DeviceCgroup>& extra_allowed) = 0;
  virtual Status freeze(bool frozen) = 0;
  virtual Result<bool> frozen() const = 0;
  // Every process, nested cgroups included.
  virtual Result<std::vector<pid_t>> pids() const = 0;
  // rmdir, nested cgroups first; waits out the kernel's EBUSY while the last tasks exit.
  virtual Status remove() = 0;
  virtual Stats stats() const = 0;
};

// The cgroupfs driver's manager for this layout (cgroups/driver.h chooses between drivers).
std::unique_ptr<Manager> make_fs_manager(const Layout& layout, const Paths& paths);

// Freeze, signal every process, thaw (so that nothing forks in between, as runc does).
Status kill_all(Manager& m, int sig);
// SIGKILL what is left, then remove.
Status destroy(Manager& m);

// The directories of p (and their parents) that do not exist yet, deepest first: what create()
// will make. For a cgroup shared with processes ocelot did not start, exactly these are removed
// at delete (never the ones that were there before).
std::vector<std::string> missing_levels(const Paths& p);
// rmdir each, in order; a directory that is gone already is fine, one that is busy is an error.
Status remove_levels(const std::vector<std::string>& dirs);

// Shared by the implementations.
namespace detail {
Status mkdir_levels(const std::string& mount, const std::string& dir, bool cpuset,
                    const std::vector<std::string>& enable);
bool has_processes(const std::string& dir);
void collect_procs(const std::string& dir, std::vector<pid_t>& out);
Status rmdir_tree(const std::string& dir);
Status write_one(const std::string& dir, const FileWrite& w);
Error missing_controller(const std::string& controller);
uint64_t read_num(const std::string& dir, const char* file);
std::map<std::string, uint64_t> read_keyed(const std::string& dir, const char* file);
}  // namespace detail

}  // namespace ocelot::cgroups
