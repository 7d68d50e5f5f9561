// Entering namespaces, on both sides of clone(): the parent opens every namespace file before
// anything moves and enters the pid and time namespaces for its child-to-be; the child joins the
// rest in the plan's order. exec uses the same join for the namespaces of a running container.
#pragma once

#include <sys/types.h>

#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "namespaces/plan.h"

namespace ocelot::ns {

struct NsFds {
  std::vector<std::pair<int, UniqueFd>> joins;  // (CLONE_NEW*, fd), in join order
  UniqueFd pid, time;                           // entered by the parent around clone()
  // (flag, fd) pairs for the child, which must not own or allocate anything.
  std::vector<std::pair<int, int>> raw_joins() const;
};

// Parent, before clone: every path of the plan, opened read-only.
Result<NsFds> open_namespace_paths(const NsPlan& p);
// Parent, for exec: the namespaces of `pid` that are not ours, in join order (pid and time apart).
Result<NsFds> open_process_namespaces(pid_t pid);

// Parent: while it lives, our children are born in the plan's pid and time namespaces (joined,
// or a new time namespace with its offsets written); destroying it returns us to our own.
class ChildNamespaces {
 public:
  ChildNamespaces() = default;
  ChildNamespaces(ChildNamespaces&&) = default;
  ChildNamespaces& operator=(ChildNamespaces&&) = default;
  ~ChildNamespaces();
  static Result<ChildNamespaces> enter(const NsPlan& p, const NsFds& fds, const spec::Linux& l);

 private:
  UniqueFd own_pid_, own_time_;
};

// Child: setns() each in order. After a user namespace, become uid/gid 0 in it (checked: a user
// namespace that does not map 0 is an error here, not a process that silently keeps its ids).
Status join_namespaces_in_child(const std::vector<std::pair<int, int>>& joins);
// Child: the namespaces it creates itself (owned by a joined user namespace).
Status unshare_namespaces_in_child(int flags);

// /proc/PID/ns/<name> and ours are the same namespace?
bool same_namespace(const std::string& a, const std::string& b);

}  // namespace ocelot::ns
